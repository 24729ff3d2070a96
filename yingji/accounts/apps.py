from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "yingji.accounts"
    label = "accounts"
