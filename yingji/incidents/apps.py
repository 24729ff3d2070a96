from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "yingji.incidents"
    label = "incidents"

    def ready(self) -> None:
        # Registers the incident timer handlers with the worker.
        from . import actions  # noqa: F401
