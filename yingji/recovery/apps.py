from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "yingji.recovery"
    label = "recovery"
    verbose_name = "Downtime recovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the back-entry deadline handler with the worker.
        from . import actions  # noqa: F401
