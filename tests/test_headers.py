"""Response headers: a Content-Security-Policy the pages pass, Referrer-Policy, and over https
Secure cookies and HSTS. tests/test_browser.py checks the policy in a real browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from yingji.accounts.lockout import client_address
from yingji.accounts.models import User

from .conftest import report

POLICY = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "object-src 'none'",
          "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'"}
# What the policy would block: inline handlers, inline style attributes and blocks, inline scripts.
INLINE = re.compile(r"""\son[a-z]+\s*=|\sstyle\s*=|<style\b|<script(?![^>]*\bsrc=)(?![^>]*type="application/json")""",
                    re.IGNORECASE)


def policy(response: Any) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


def pages(api: Any) -> list[str]:
    incident = report(api("nurse-wang"))
    number, key = incident["number"], incident["report"]
    from yingji.incidents.models import Report

    access_key = Report.objects.get(number=key).access_key
    return ["/", "/report", "/incidents/", f"/incidents/{number}", f"/incidents/{number}/records",
            f"/incidents/{number}/entry", f"/incidents/{number}/review", "/plan", "/rosters/", "/temp-ranges",
            "/screen", f"/r/{access_key}", "/login"]


def test_every_page_has_the_policy_and_nothing_inline_it_would_block(api: Any) -> None:
    client = Client()
    client.force_login(User.objects.get(username="info-director"))
    for path in pages(api):
        response = client.get(path)
        assert response.status_code == 200, path
        assert policy(response) == POLICY, path
        html = response.content.decode()
        assert not INLINE.findall(html), (path, INLINE.findall(html))


def test_pages_say_same_origin_referrer_nosniff_and_no_framing(demo: Any) -> None:
    response = Client().get("/report")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_the_lock_page_has_the_policy_too(demo: Any) -> None:
    client = Client()
    for _ in range(5):
        response = client.post("/login", {"username": "dean", "password": "wrong"})
    assert response.status_code == 429
    assert policy(response) == POLICY


def test_the_api_docs_load_swagger_from_this_server_not_a_cdn(demo: Any) -> None:
    html = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert Client().get("/static/ninja/swagger-ui-init.js").status_code == 200


def settings_under(env: dict[str, str], tmp_path: Any) -> dict[str, Any]:
    """Settings are read at import: import them in a fresh interpreter with this environment."""
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"]
    code = ("import json; from yingji import settings as s; "
            f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YINGJI_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "YINGJI_DATA_DIR": str(tmp_path), **env},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_over_https_cookies_are_secure_and_browsers_are_told_to_stay_on_https(tmp_path: Any) -> None:
    found = settings_under({"YINGJI_BASE_URL": "https://yingji.hospital.example"}, tmp_path)
    assert found == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_HSTS_SECONDS": 31536000,
                     "SECURE_PROXY_SSL_HEADER": None}


def test_over_plain_http_cookies_stay_usable_and_there_is_no_hsts(tmp_path: Any) -> None:
    found = settings_under({"YINGJI_BASE_URL": "http://10.1.2.3:8000"}, tmp_path)
    assert found["SESSION_COOKIE_SECURE"] is False and found["SECURE_HSTS_SECONDS"] == 0


def test_behind_a_proxy_its_forwarded_proto_is_trusted(tmp_path: Any) -> None:
    found = settings_under({"YINGJI_BASE_URL": "https://yingji.hospital.example", "YINGJI_BEHIND_PROXY": "1"},
                           tmp_path)
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), SECURE_HSTS_SECONDS=31536000,
                   SESSION_COOKIE_SECURE=True)
def test_a_request_the_proxy_forwarded_over_https_gets_hsts_and_a_secure_session_cookie(demo: Any) -> None:
    client = Client()
    response = client.post("/login", {"username": "dean", "password": "yingji-demo"},
                           HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 302
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert response.cookies["sessionid"]["secure"] is True


@pytest.mark.parametrize(("behind_proxy", "expected"), [(False, "127.0.0.1"), (True, "127.0.0.44")])
def test_the_locked_address_is_the_workstation_behind_a_trusted_proxy(behind_proxy: bool, expected: str) -> None:
    request = RequestFactory().get("/login", REMOTE_ADDR="127.0.0.1",
                                   HTTP_X_FORWARDED_FOR="127.0.0.9, 127.0.0.44")
    with override_settings(YINGJI_BEHIND_PROXY=behind_proxy):
        assert client_address(request) == expected
