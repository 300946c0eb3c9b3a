from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "vertebro.registry"
    label = "registry"
    verbose_name = "Vertebroplasty registry"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from .services.audit import reinstall_after_migrate
        from .web.middleware import stamp_login

        # Every way of logging in (the app, the admin, a test's force_login) starts the idle clock.
        user_logged_in.connect(stamp_login, dispatch_uid="vertebro-stamp-login")
        # A migration that rebuilt an audit table (SQLite does, to alter one) must not leave it unprotected.
        post_migrate.connect(reinstall_after_migrate, sender=self, dispatch_uid="vertebro-audit-triggers")
