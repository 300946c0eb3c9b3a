"""Date formats of the app: ISO dates everywhere (clinical records are read across countries)."""
