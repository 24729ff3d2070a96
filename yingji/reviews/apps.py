from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "yingji.reviews"
    label = "reviews"
    verbose_name = "Reviews and regulatory reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the regulatory and corrective-action deadline handlers with the worker.
        from . import actions, regulatory  # noqa: F401
