from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "yingji.notify"
    label = "notify"

    def ready(self) -> None:
        # Registers the daily audit digest's timer handler and its self-audit check.
        from . import digest  # noqa: F401
