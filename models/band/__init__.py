"""The EU band reader: synthetic band patches, a tiny CNN, its training and export (build time only)."""
