"""vertebro: an outcomes registry and analysis system for vertebroplasty."""

__version__ = "0.1.0"
