from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yingji.core"
    label = "core"
    verbose_name = "Yingji core"
