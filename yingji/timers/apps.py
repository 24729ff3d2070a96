from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "yingji.timers"
    label = "timers"
