from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "yingji.plans"
    label = "plans"
