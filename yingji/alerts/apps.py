from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "yingji.alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker's intake step, the group timer, the incident page's card and the API's alert
        # list: registered with the lower domains, which never import this one.
        from . import hooks  # noqa: F401
