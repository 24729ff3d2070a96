from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "yingji.accounts"
    label = "accounts"

    def ready(self) -> None:
        # A lock that begins goes on the audit chain (axes sends the signal; we decide what to log).
        from axes.signals import user_locked_out

        from .lockout import record_lock

        user_locked_out.connect(record_lock, dispatch_uid="yingji.accounts.record_lock")
