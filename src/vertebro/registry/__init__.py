"""The registry: Django models, services (writes) and selectors (reads)."""
