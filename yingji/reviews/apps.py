from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "yingji.reviews"
    label = "reviews"
    verbose_name = "Reviews and regulatory reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the regulatory deadline handler with the worker.
        from . import regulatory  # noqa: F401
