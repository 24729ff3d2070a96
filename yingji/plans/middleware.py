"""The published plan's language is the default for whoever does not say which they want: an API
client without Accept-Language, a lobby screen, a phone opening a link. A hospital with an English
plan gets English errors and pages; anyone who asks (header or the language switch) gets theirs."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .store import published


class PlanLanguageMiddleware:
    """After LocaleMiddleware: replaces its fallback (LANGUAGE_CODE) with the plan's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) and not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            current = published()
            if current is not None and current[1].hospital.language != translation.get_language():
                translation.activate(current[1].hospital.language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class PlanTimezoneMiddleware:
    """The published plan's `hospital.timezone` is the clock every page and API answer shows, and
    the one a time without an offset is read in (a paper slip's time, typed in): a hospital in
    London reads London time. `YINGJI_TIME_ZONE` (settings.TIME_ZONE) holds until a plan is published."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        current = published()
        if current is not None:
            timezone.activate(current[1].hospital.zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
