from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from yingji.accounts.models import ApiToken, User, _token_cache
from yingji.core import clock
from yingji.core.actors import forget_names
from yingji.core.demo import load_demo
from yingji.notify import service as notify_service
from yingji.plans.store import forget_published, plan_of, published

from .hospitals import HOSPITALS, Cast

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _own_audit_anchors(settings: Any, tmp_path: Any) -> None:
    """Each test's database starts empty, so its anchors must too."""
    settings.YINGJI_AUDIT_ANCHOR_FILE = str(tmp_path / "audit-anchors.jsonl")


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Tests roll back and reuse ids; production never does. Start each test with empty caches."""
    clock.reset()
    forget_published()
    plan_of.cache_clear()
    _token_cache.clear()
    forget_names()
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _messages_fill_what_their_templates_declare(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender that fills in other placeholders than its template declares (notify/templates.py)
    fails the test that sends it; in production that is only logged."""
    monkeypatch.setattr(notify_service, "STRICT", True)


@pytest.fixture
def demo(db: Any) -> Any:
    """The shipped Chinese plan published, with a login for every role."""
    load_demo("zh")
    return published()[1]  # type: ignore[index]


@pytest.fixture(params=HOSPITALS)
def hospital(request: Any, db: Any) -> Cast:
    """Each plan in turn (the shipped zh and en, and the second hospital's), published, with a
    login for each of its people; the test asks the Cast who is who."""
    return Cast.publish(request.param)


class Api:
    """A Django test client that speaks JSON with a Bearer token."""

    def __init__(self, user: User):
        self.user = user
        _, self.token = ApiToken.issue(user, "test")
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", **self._headers())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", data=json.dumps(body or {}), content_type="application/json",
                                **self._headers())


@pytest.fixture
def api(demo: Any) -> Any:
    """api("eng-duty") -> a client acting as that demo user."""
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(User.objects.get(username=username))
        return cache[username]

    return make


def report(api_client: Api, system: str = "HIS", **extra: Any) -> Any:
    body = {"system": system, "symptom": "无法进入程序", "location": "门诊二楼3诊室", **extra}
    return merged(api_client, api_client.post("/incidents", body))


def merged(api_client: Api, response: Any) -> dict[str, Any]:
    """A report the API accepted (202), after the worker's merge step ran: the incident it made or
    joined, as `GET /reports/{number}` tells it."""
    from yingji.incidents.actions import merge_pending

    assert response.status_code == 202, response.content
    accepted = response.json()
    assert accepted["status"] == "received" and accepted["status_url"].startswith("/r/"), accepted
    while merge_pending():
        pass
    status = api_client.get(f"/reports/{accepted['report']}")
    assert status.status_code == 200, status.content
    told = status.json()
    assert told["incident"], told
    return {"id": told["incident_id"], "number": told["incident"], "report": told["number"], "status": told["status"],
            "grade": told["grade"], "merged": told["merged"], "reports_count": told["reports_count"]}


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    # PBKDF2 makes every demo login cost a third of a second; tests do not need slow hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- a real Chromium, for the browser tests (one per module) ---------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google, which this network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("YINGJI_REQUIRE_ALL_TESTS"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium; the pages a test opened are closed when it ends. A page left open
    keeps refreshing itself (htmx) from the live server while the next test writes, and the live
    server shares the test's in-memory SQLite connection: such a read can fail, 'table is locked'."""
    yield chromium
    for context in list(chromium.contexts):
        context.close()


# The shipped plans' recovery.restore_checks, all confirmed: what an engineer ticks before "restored".
RESTORE_CHECKS = [0, 1, 2]
RESTORED = {"checks": RESTORE_CHECKS}
