"""The event stage: a judged passage becomes a PlateEvent, and the dispatcher hands it to the sinks."""
