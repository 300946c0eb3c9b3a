from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "vertebro.registry"
    label = "registry"
    verbose_name = "Vertebroplasty registry"
