"""Model inference for the edge agent: runtime sessions, plate detector and plate reader."""
