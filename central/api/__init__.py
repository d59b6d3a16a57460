"""HTTP API routers of central."""
