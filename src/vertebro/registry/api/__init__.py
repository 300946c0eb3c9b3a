"""The REST API under /api/v1/ (Django REST Framework): token authentication, the same site scoping and
identifier rules as the web app (:mod:`vertebro.registry.web.permissions`), writes through the same
validation and services as the web forms."""
