"""Sessions are rows in the database (logging out deletes the row); expired rows are swept here."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings


def clear_expired() -> None:
    """Delete sessions past their expiry: one DELETE, cheap enough for the worker to run hourly.
    Django never deletes an expired row by itself, it only refuses to use it."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
