from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "yingji.notify"
    label = "notify"
