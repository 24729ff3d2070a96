from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "yingji.oncall"
    label = "oncall"
