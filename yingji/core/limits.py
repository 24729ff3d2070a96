"""Bounds before work: a request body over the limit is refused before anything parses it.

JSON and form bodies may be YINGJI_BODY_MAX_BYTES, multipart uploads (the CSV/XLSX import of paper
records) YINGJI_IMPORT_MAX_BYTES. The declared Content-Length is checked first; a chunked body,
which has none, is read up to the limit and no further. Django's own RequestDataTooBig (a form
whose fields outgrow DATA_UPLOAD_MAX_MEMORY_SIZE) gets the same answer: JSON 413 naming the body
under /api/, a plain page in the reader's language elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

READ_CHUNK = 64 * 1024


def body_limit(request: HttpRequest) -> int:
    if request.path.startswith("/integrations/"):  # a monitor's whole alert group
        return int(settings.YINGJI_INTEGRATION_MAX_BYTES)
    if request.content_type == "multipart/form-data":
        return int(settings.YINGJI_IMPORT_MAX_BYTES)
    return int(settings.YINGJI_BODY_MAX_BYTES)


def declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    with translation.override(translation.get_language_from_request(request)):
        detail = _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
        if request.path.startswith(("/api/", "/integrations/")):  # machines read JSON
            return HttpResponse(json.dumps({"detail": detail, "field": "body", "limit": limit}), status=413,
                                content_type="application/json")
        return plain_page(413, _("Request too large"), detail,
                          _("Go back and send a smaller file, or split it into several."))


def plain_page(status: int, title: str, *paragraphs: str) -> HttpResponse:
    """A page for a request refused before any view ran: no template, no session, escaped text."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    page = (f"<!doctype html><html lang=\"{translation.get_language()}\"><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><h1>{escape(title)}</h1>{body}</html>")
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


def read_chunked(request: HttpRequest, limit: int) -> bytes | None:
    """A body without Content-Length (chunked), read at most one byte past the limit; None if over."""
    stream = request.META["wsgi.input"]
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
    return None


class BodyLimitMiddleware:
    """First in MIDDLEWARE, so neither CSRF nor sessions nor a view has read the body yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request)
        length = declared_length(request)
        if length is not None and length > limit:
            return too_large(request, limit)
        if length is None and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = read_chunked(request, limit)
            if body is None:
                return too_large(request, limit)
            # Django reads a body by its Content-Length; give it the bytes and their length.
            request._body = body  # type: ignore[attr-defined]
            request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request, int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        return None


class NulGuardMiddleware:
    """A NUL character in the path, the query or a form field is refused with 400 naming where.

    PostgreSQL cannot store or even compare text with NUL in it and fails the query, a 500; the
    API's own fields refuse it in their types (core/apischema.Text), this covers the web pages.
    After BodyLimitMiddleware, so a form is parsed only once it is known to be small enough.
    """

    FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
    # These check every field themselves and answer with the field marked on the form (or 422).
    SELF_CHECKED = ("/api/", "/report")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie with NUL (Django decodes "\\000" in quoted values) would fail the session
        # lookup on every page; nothing of ours sets one, so it is dropped, as if not sent.
        for name in [n for n, v in request.COOKIES.items() if "\x00" in n or "\x00" in v]:
            del request.COOKIES[name]
        if request.path.startswith(self.SELF_CHECKED):
            return self.get_response(request)
        try:
            where = self._nul_in(request)
        except RequestDataTooBig:
            return too_large(request, int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        if where is not None:
            return refused(request, where, _("Holds a NUL character."))
        return self.get_response(request)

    def _nul_in(self, request: HttpRequest) -> str | None:
        if "\x00" in request.path:
            return "path"
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name.replace("\x00", "") or "query"
        if request.method == "POST" and request.content_type in self.FORMS:
            for name, values in request.POST.lists():
                if "\x00" in name or any("\x00" in v for v in values):
                    return name.replace("\x00", "") or "form"
        return None


def refused(request: HttpRequest, field: str, message: str) -> HttpResponse:
    """400 naming the field, as a plain page in the reader's language."""
    with translation.override(translation.get_language_from_request(request)):
        return plain_page(400, _("The request cannot be read"), f"{field}: {message}")
