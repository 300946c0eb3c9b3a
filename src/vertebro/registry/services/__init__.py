"""Writes to the registry. Views, the CLI and importers call these; nothing else saves models."""
