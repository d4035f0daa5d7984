"""One module per CLI command; each exposes `register(app)`. Heavy libraries are imported inside the commands."""
