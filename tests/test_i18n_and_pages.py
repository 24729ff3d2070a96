"""Every user-facing string has a zh_Hans translation, and every page renders in both languages."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

import polib
import pytest
from django.test import Client
from django.utils import translation

from yingji.accounts.models import User

from .conftest import report

LOCALE = Path(__file__).resolve().parent.parent / "yingji" / "locale" / "zh_Hans" / "LC_MESSAGES"
SOURCES = Path(__file__).resolve().parent.parent / "yingji"


def test_the_zh_hans_catalog_is_complete_and_compiled() -> None:
    catalog = polib.pofile(str(LOCALE / "django.po"))
    assert not catalog.untranslated_entries()
    assert not catalog.fuzzy_entries()
    compiled = polib.mofile(str(LOCALE / "django.mo"))
    assert {e.msgid: e.msgstr for e in compiled if not e.msgid_plural} == {
        e.msgid: e.msgstr for e in catalog.translated_entries() if not e.msgid_plural}


def test_every_marked_string_is_in_the_catalog() -> None:
    """A string marked in the code but not extracted would show in English in the Chinese UI."""
    catalog = {e.msgid for e in polib.pofile(str(LOCALE / "django.po"))}
    pattern = re.compile(r"""(?:\b_|translate|gettext_lazy)\(\s*"((?:[^"\\]|\\.)+)"\s*[,)]""")
    tag = re.compile(r"""{% translate "((?:[^"\\]|\\.)+)" %}|{% translate '((?:[^'\\]|\\.)+)' %}""")
    found = set()
    for path in SOURCES.rglob("*.py"):
        found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    for path in SOURCES.rglob("*.html"):
        found |= {a or b for a, b in tag.findall(path.read_text(encoding="utf-8"))}
    missing = sorted(s for s in found if s not in catalog)
    assert missing == []


PAGES = ["/", "/report", "/incidents/", "/plan", "/report?phone=1"]


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "报告故障"), ("en", "Report a fault")])
def test_every_page_renders_in_both_languages(api: Any, language: str, expected: str) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    api("dean").post(f"/incidents/{incident['id']}/activate")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(User.objects.get(username="info-director"))
    for path in [*PAGES, f"/incidents/{incident['number']}"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert expected in response.content.decode(), path


def test_the_language_switch_changes_the_ui(demo: Any) -> None:
    client = Client()
    assert "报告故障" in client.get("/").content.decode()  # Chinese is the default
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Report a fault" in client.get("/").content.decode()


def test_healthz(demo: Any) -> None:
    body = Client().get("/healthz").json()
    assert body["status"] == "ok" and body["plan"] is True


def test_the_openapi_document_lists_the_contract(demo: Any) -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/api/v1/systems",
                 "/api/v1/departments", "/api/v1/incidents/{incident_id}/{action}"):
        assert path in paths


def test_systems_and_departments_come_from_the_published_plan(demo: Any) -> None:
    client = Client()
    systems = client.get("/api/v1/systems").json()
    assert [s["code"] for s in systems] == [s.code for s in demo.systems]
    assert {s["status"] for s in systems} == {"up"}
    departments = client.get("/api/v1/departments").json()
    assert {"code": "cashier", "name": "收费科", "kind": "finance"} in departments


def test_the_plan_s_language_is_the_default_when_nobody_asks(db: Any) -> None:
    """With an English plan, an API client that sends no Accept-Language gets English errors."""
    from yingji.core.demo import load_demo
    from yingji.plans.store import forget_published

    load_demo("en")
    forget_published()
    from yingji.accounts.models import ApiToken

    _, token = ApiToken.issue(User.objects.get(username="eng-duty"), "test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"system": "NOPE", "symptom": "x"}
    plain = client.post("/api/v1/incidents", body, content_type="application/json")
    assert plain.status_code == 400 and "Unknown system" in plain.json()["detail"], plain.content
    asked = client.post("/api/v1/incidents", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "未知" in asked.json()["detail"]
    assert 'lang="en"' in Client().get("/screen").content.decode()


def test_the_plan_page_shows_every_section_of_the_plan(demo: Any) -> None:
    """Prevention, early warning, rewards and penalties and attachments were missing."""
    client = Client()
    client.force_login(User.objects.get(username="info-director"))
    page = client.get("/plan", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    sections = (("预防与预警", demo.document.early_warning[0]), ("奖励与处罚", demo.rewards_and_penalties[0]),
                ("附件", demo.attachments[0]))
    for heading, sample in sections:
        assert heading in page and sample in page


@pytest.mark.parametrize("name", ["zh", "second"])
def test_the_plan_page_shows_each_department_s_kind_in_words_and_the_back_entry_rules(db: Any, name: str) -> None:
    from yingji.web.words import DEPARTMENT_KINDS

    from .hospitals import Cast

    cast = Cast.publish(name)
    plan = cast.plan
    client = Client()
    client.force_login(User.objects.get(username=cast.office))
    page = client.get("/plan", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for department in plan.departments:
        row = page.split(f'data-department="{department.code}"')[1].split("</tr>")[0]
        with translation.override("zh-hans"):
            shown = re.sub(r"<[^>]+>", "|", row)  # what a person reads: the kind in words, never its code
            assert f"|{DEPARTMENT_KINDS[department.kind]}|" in shown and department.kind not in shown
    rules = page.split('id="backentry"')[1].split("</section>")[0]
    assert plan.backentry_system().name in rules
    for code in plan.settling_departments():
        assert escape(plan.department(code).name) in rules  # type: ignore[union-attr]
    for kind in plan.recovery.record_kinds:
        assert f'data-record-kind="{kind.code}"' in rules
    if name == "second":
        assert "Reception and cashier" not in rules.split("医保记录结算科室")[1].split("</li>")[0]
        assert "Blood bank system" in rules.split('data-record-kind="blood_issue"')[1].split("</tr>")[0]


@pytest.mark.parametrize("name", ["zh", "second"])
def test_pages_show_times_on_the_hospital_s_own_clock(db: Any, name: str) -> None:
    """The plan's hospital.timezone, not the server's setting: a London hospital reads London time,
    and a time the API gets without an offset is London time too."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from yingji.core import clock
    from yingji.incidents.models import Incident
    from yingji.recovery.models import ManualRecord

    from .hospitals import Cast

    cast = Cast.publish(name)
    zone = cast.plan.hospital.zone()
    clock.freeze(datetime(2026, 11, 21, 15, 7, tzinfo=zone))
    incident = cast.report(scope="hospital")
    web = Client()
    web.force_login(User.objects.get(username=cast.office))
    assert "2026-11-21 15:07" in web.get("/incidents/").content.decode()
    slip = {"kind": cast.charge_kind(), "department": cast.standalone.code, "card_no": "1", "paper_serial": "T-1",
            "occurred_at": "2026-11-21 14:30", "amount": "1.00"}
    assert cast.api(cast.office).post(f"/incidents/{incident['id']}/records", slip).status_code == 201
    assert ManualRecord.objects.get().occurred_at == datetime(2026, 11, 21, 14, 30, tzinfo=zone)
    page = web.get(f"/incidents/{Incident.objects.get().number}/records?state=all").content.decode()
    assert "11-21 14:30" in page
    if name == "second":
        assert zone != ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("language", "says"), [
    ("zh-hans", "报告已保存但尚未转交"), ("en", "reports are kept but not yet passed on")])
def test_the_worker_down_banner_tells_a_reporter_what_happens_and_whom_to_call(
        demo: Any, language: str, says: str) -> None:
    """Reports wait for the worker: whoever sees the banner learns that theirs is kept, that
    nothing fires meanwhile, and to phone the information center; the command is set as code."""
    from yingji.timers import service

    page = Client().get("/report", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    banner = page[page.index('id="worker-down"'):].split("</div>", 1)[0]
    assert says in banner and "<code>yingji worker</code>" in banner and "`" not in banner
    service.beat("test-worker")
    assert 'id="worker-down"' not in Client().get("/report", HTTP_ACCEPT_LANGUAGE=language).content.decode()
