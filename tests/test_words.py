"""No raw code reaches a person: every page and document of a realistic outage, in both languages.

A hospital-wide HIS outage is run through the actions and the web forms as it would happen: two
reports (one anonymous), a page nobody answers in time, an acknowledgement from the link in the
page, arrival, activation, the stand-alone and paper modes from the clock and by hand, ransomware
found on site, the national grade set by hand, evidence, manual records typed and imported, the CAC
report sent in part, restore, back-entry signed off, the review and a corrective action. Then every
page and every document is rendered and its text searched for what a person should never read:
the plan's codes (people, departments, groups, grades, scenarios), state, timer, mode, channel and
actor codes, durations as the plan spells them (`5m`), and, on Chinese pages, English that is not a
system's short name, a reference number, a URL, an address, a hash or a command.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polib
import pytest
import yaml
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI, display_name, link_actor
from yingji.core.demo import load_demo
from yingji.core.errors import InvalidTransition
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import Incident, Report
from yingji.notify.models import Message
from yingji.notify.service import ack_token
from yingji.plans.durations import human_duration
from yingji.plans.loader import template_text
from yingji.plans.schema import Plan
from yingji.plans.store import published
from yingji.recovery.models import ManualRecord, TempRange
from yingji.reviews.models import RegulatoryReport
from yingji.timers import service
from yingji.web.timeline import QUIET, describe

from .conftest import RESTORE_CHECKS

CATALOG = Path(__file__).resolve().parent.parent / "yingji" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 2, 6, 20, tzinfo=SHANGHAI)  # a Wednesday before the morning peak

# What people type, in the plan's language: shown back to them as typed, never a code.
TYPED = {
    "zh": {"symptom": "HIS 全院无法登录", "location": "门诊二楼3诊室", "anonymous": "收费窗口全部无法收费",
           "phone_symptom": "住院处无法办理出院", "caller": "住院处杨帆", "evidence": "防火墙日志",
           "kept": "日志服务器", "restore": "隔离感染主机并从离线备份恢复数据库", "cause": "勒索软件经 VPN 弱口令进入",
           "reason": "核心业务中断超过 2 小时", "action": "关闭 VPN 弱口令账号", "sent": "12387 电话",
           "event": "门诊收费与住院结算全部中断", "clinician": "王医生"},
    "en": {"symptom": "Nobody can log in to HIS", "location": "Outpatient building, room 3",
           "anonymous": "No cashier window can take payments", "phone_symptom": "Admissions cannot discharge",
           "caller": "Yang Fan, admissions", "evidence": "Firewall logs", "kept": "Log server",
           "restore": "Infected hosts isolated, database restored from the offline backup",
           "cause": "Ransomware came in through a weak VPN password", "reason": "Core services down over 2 hours",
           "action": "Disable VPN accounts with weak passwords", "sent": "12387 by phone",
           "event": "Outpatient charging and inpatient billing are down", "clinician": "Dr Wang"},
}

# The incident page (web/incident.html, web/_incident_live.html and the incident-page functions of
# web/views.py) is being rewritten elsewhere. What it still shows that it should not, found by this
# test, is listed here, exactly, so that the rewrite can remove it and then this allow-list.
# The timeline on that page is checked on its own below, so nothing here hides a timeline sentence.
INCIDENT_PAGE_PENDING: set[str] = set()  # the incident page's leftovers are fixed; keep it empty


# -- the outage ---------------------------------------------------------------------------------


def client(username: str | None, language: str) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    if username:
        browser.force_login(User.objects.get(username=username))
    return browser


def later(minutes: float) -> None:
    clock.freeze(clock.now() + timedelta(minutes=minutes))
    while service.run_due() + actions.merge_pending():  # what the worker would have done meanwhile
        pass


def outage(language: str) -> dict[str, Any]:
    """The outage, driven through the web forms where a person would use them."""
    typed = TYPED[language]
    ui = "zh-hans" if language == "zh" else "en"
    clock.freeze(START)
    nurse = client("nurse-wang", ui)
    sent = nurse.post("/report", {"system": "HIS", "symptom": typed["symptom"], "location": typed["location"],
                                  "scope": "hospital", "patients_affected": "40", "phone": "13800000025"})
    assert sent.status_code == 302, sent.content.decode()
    status_page = sent["Location"]
    actions.merge_pending()
    incident = Incident.objects.get()
    later(1)
    assert client(None, ui).post("/report", {"system": "HIS", "symptom": typed["anonymous"],
                                             "scope": "area"}).status_code == 302
    engineer = client("eng-duty", ui)
    assert engineer.post("/report", {"system": "HIS", "symptom": typed["phone_symptom"], "channel": "phone",
                                     "reporter_name": typed["caller"], "department": "inpatient-billing",
                                     "phone": "010-00000017"}).status_code == 302

    later(5)  # nobody acknowledged within 5 minutes: the chain's next step is paged
    page = Message.objects.filter(incident=incident, person="eng-duty", needs_ack=True).first()
    assert page is not None
    ack_path = re.search(r"https?://[^/\s]+(/ack/\S+)", page.body)[1]  # type: ignore[index]
    phone = Client(HTTP_ACCEPT_LANGUAGE=ui, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    assert phone.post(ack_path).status_code == 302  # acknowledged from the link in the page
    later(4)
    base = f"/incidents/{incident.number}"
    engineer.post(f"{base}/action/arrive")
    dean = client("dean", ui)
    dean.post(f"{base}/action/activate")
    cashier_head = client("cashier-head", ui)
    task = incident.tasks.get(department="cashier")  # type: ignore[attr-defined]
    cashier_head.post(f"/tasks/{task.pk}/ack")
    item = task.items.first()
    cashier_head.post(f"/items/{item.pk}/tick", {"done": "1"})

    later(11)  # departments that did not acknowledge the activation are reported
    later(10)  # 31 minutes in: the cashier's office goes stand-alone by the plan's clock
    office = client("info-director", ui)
    office.post(f"{base}/facts", {"cause": "security", "security": "ransomware", "patients_affected": "120"})
    office.post(f"{base}/grade", {"grade": "national_grade:major", "reason": typed["reason"]})
    office.post(f"{base}/evidence", {"kind": "log", "what": typed["evidence"], "location": typed["kept"],
                                     "sha256": "ab" * 32})
    cashier_head.post(f"{base}/mode", {"department": "cashier", "mode": "manual"})
    office.post(f"{base}/scenario", {"scenario": "virus"})

    clerk = client("cashier-li", ui)
    at = clock.now().astimezone(SHANGHAI) - timedelta(minutes=5)
    for serial, insurance in (("MZ-0001", "employee"), ("MZ-0002", "")):
        saved = clerk.post(f"{base}/entry", {"kind": "charge", "card_no": "620001", "paper_serial": serial,
                                             "occurred_at": f"{at:%Y-%m-%d %H:%M}", "amount": "12.50",
                                             "insurance": insurance, "clinician": typed["clinician"]})
        assert saved.status_code == 302, saved.content.decode()
    csv = ("kind,department,card_no,paper_serial,occurred_at,amount\n"
           f"charge,cashier,620002,MZ-0003,{at:%Y-%m-%d %H:%M},5.00\n"
           f"charge,cashier,620003,MZ-0004,{at:%Y-%m-%d %H:%M},abc\n")
    clerk.post(f"{base}/records/import", {"file": SimpleUploadedFile("log.csv", csv.encode(), "text/csv")})

    later(60)
    cac = RegulatoryReport.objects.get(incident=incident, kind="cac")
    office.post(f"/regulatory/{cac.pk}", {"unit": typed["event"], "event": typed["event"], "channel": typed["sent"],
                                          "partial": "on", "sent": "1"})
    later(100)  # 3 h 12 min: the paper mode for inpatient billing, the pharmacies and the wards
    later(50)  # over 4 hours: the duration level rises by itself
    engineer.post(f"{base}/action/restore", {"note": typed["restore"], "checks": RESTORE_CHECKS})

    for record in ManualRecord.objects.filter(incident=incident):
        clerk.post(f"/records/{record.pk}/enter", {"his_id": f"HIS-{record.pk}"})
        cashier_head.post(f"/records/{record.pk}/verify")
        cashier_head.post(f"/records/{record.pk}/confirm")
    cashier_head.post(f"/records/{ManualRecord.objects.get(paper_serial='MZ-0001').pk}/settle")
    cashier_head.post(f"{base}/reconciliation/cashier", {"expected_count": "3", "expected_amount": "30.00"})
    cashier_head.post(f"{base}/reconciliation/cashier", {"as": "lead"})
    client("finance-head", ui).post(f"{base}/reconciliation/cashier", {"as": "finance"})
    office.post(f"{base}/review/save", {"cause": typed["cause"], "what_worked": typed["event"]})
    office.post(f"{base}/corrective", {"text": typed["action"], "owner": "eng-net",
                                       "due_date": f"{clock.now().astimezone(SHANGHAI).date() + timedelta(days=7)}"})
    client("eng-net", ui).post(f"/corrective/{incident.review.corrective_actions.get().pk}/done")  # type: ignore[attr-defined]
    later(1)
    service.beat("test")  # the worker runs: no banner about it
    pending = Message.objects.filter(incident=incident, needs_ack=True, acked_at=None).first()
    assert pending is not None
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.status == "restored" and incident.category == "MPRANS"
    assert Report.objects.filter(incident=incident).count() == 3
    return {"incident": incident, "status_page": status_page, "acked": ack_path,
            "pending": f"/ack/{ack_token(pending.ack_key)}"}


def pages(run: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(path, login) for every page of the outage; no login for the pages that need none."""
    number = run["incident"].number
    yield from [
        ("/", "info-director"), ("/", None), ("/", "cashier-li"), ("/report", "nurse-wang"),
        ("/report?phone=1", "eng-duty"), (run["status_page"], None), ("/incidents/", "info-director"),
        (f"/incidents/{number}", "info-director"), (f"/incidents/{number}", "cashier-head"), ("/plan", "info-director"),
        ("/rosters/", "info-director"), (f"/incidents/{number}/records", "cashier-head"),
        (f"/incidents/{number}/records", "finance-head"),
        (f"/incidents/{number}/entry?department=cashier", "cashier-li"),
        (f"/incidents/{number}/review", "info-director"), (run["acked"], None), (run["pending"], None),
        ("/screen", None), ("/temp-ranges", "info-director"), ("/pages", "dean"), ("/pages", "eng-duty"),
        ("/r/no-such-report", None), ("/no-such-page", "info-director"),
    ]


# -- reading what a person reads ----------------------------------------------------------------


VISIBLE_ATTRIBUTES = re.compile(r'\s(?:placeholder|title|aria-label|alt)="([^"]*)"')


def page_text(markup: str) -> str:
    """What a person reads on a page: its text and the attributes that are shown or spoken."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    shown = " ".join(VISIBLE_ATTRIBUTES.findall(markup))
    markup = re.sub(r"<code>.*?</code>", " ", markup, flags=re.S)  # literally what to type: a command, a column
    return html.unescape(re.sub(r"<[^>]+>", " ", markup) + " " + html.unescape(shown))


def pdf_text(content: bytes, tmp: Path) -> str:
    path = tmp / "document.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def docx_text(content: bytes) -> str:
    xml = zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode()
    return html.unescape(re.sub(r"<[^>]+>", " ", xml.replace("</w:p>", "\n")))


# Stripped before looking for words: these are what they are in every language.
LITERAL = [
    re.compile(r"https?://\S+"), re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # addresses
    re.compile(r"`[^`]*`"),  # a command, as in "`yingji audit verify`"
    re.compile(r"\b(?:YJ|R)\d{8}-\d+\b"),  # incident and report numbers
    re.compile(r"\b[0-9a-f]{8,64}\b"),  # SHA-256 values (a PDF's narrow column breaks them into lines)
    re.compile(r"\bYINGJI_[A-Z0-9_]+\b"),  # environment variables to set, as in "set YINGJI_SMS_URL"
    re.compile(r"\bv\d+\b"),  # plan version numbers
]
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./]*[A-Za-z0-9_]|[A-Za-z]")
DURATION = re.compile(r"^\d+[smhdw](?:\d+[smhdw])*$")
# Short names and formats everyone in a hospital's IT uses as they are, the keys as printed on the
# keyboard, and each language's name in its own language (the language switch).
UNIVERSAL = {"PDF", "DOCX", "CSV", "XLSX", "UTF-8", "GBK", "SHA-256", "RTO", "RPO", "MTPD", "Tab", "Alt", "T",
             *(word for _code, name in settings.LANGUAGES for word in name.split())}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def plan_words(language: str) -> set[str]:
    """ASCII words the Chinese plan itself writes in its prose (HIS, UPS, Oracle, GB/T...): a
    person reads them in the plan as well. Codes never hold Chinese, so a string that does is prose."""
    data = yaml.safe_load(template_text(language))
    words = {s["code"] for s in data["systems"]}
    for text in _strings(data):
        if re.search(r"[\u4e00-\u9fff]", text):
            words |= set(WORD.findall(text))
    return words


def typed_words(language: str) -> set[str]:
    """What people typed in: the outage's words, the slips' serials and HIS ids, the file's name,
    the temporary number ranges the office reserved (prefix and numbers)."""
    words = {w for text in TYPED[language].values() for w in WORD.findall(text)} | {"log.csv"}
    for serial, his_id in ManualRecord.objects.values_list("paper_serial", "his_id"):
        words |= {serial, his_id}
    for block in TempRange.objects.all():
        words |= {block.prefix, block.number(block.first), block.number(block.last)}
    return words


def plan_codes(plan: Plan) -> set[str]:
    """Every code the plan names things by."""
    codes = {p.code for p in plan.people} | {d.code for d in plan.departments}
    codes |= {g.code for g in plan.organization.all_groups()} | {r.code for r in plan.rosters}
    codes |= {s.code for s in plan.scenarios} | {c.code for c in plan.external_contacts}
    codes |= {i.code for i in plan.recovery.insurance} | {c.code for c in plan.notifications.channels}
    codes |= {k.code for k in plan.recovery.record_kinds}
    for _name, scheme in plan.grading.schemes():
        codes |= {g.code for g in scheme.grades}
    return codes


# Codes of Yingji's own: states, timer kinds, deadlines, modes, phases, channels, actors, kinds.
OWN_CODES = {
    "reported", "acknowledged", "on_site", "activated", "restored", "closed", "cancelled", "merged",
    "ack", "fix", "mode", "dept_ack", "regrade", "backentry", "regulatory", "corrective", "acknowledge",
    "department_ack", "standalone", "manual", "read_only", "on_activation", "during", "after_recovery",
    "web", "api", "phone", "link", "activation_ask", "worker", "anonymous", "cli", "login-guard", "page",
    "escalation",
    "activation", "mode_switch", "breach", "update", "hospital", "partial", "area", "terminal", "security",
    "ransomware", "data_leak", "unknown", "log", "police", "cac", "cac_followup", "cac_summary", "pipl",
    "charge", "pending", "entered", "verified", "confirmed", "self_paid_pending_resettle", "resettled",
    "on_account", "settled", "lead", "finance", "commander", "office", "engineer", "department_lead",
    "reporter", "core", "important", "general", "email", "sms", "wecom", "met", "fired", "elapsed", "facts",
}


def english_vocabulary() -> set[str]:
    """Words English sentences here use: every word of the catalog's English and of the English
    plan's prose. A code that is such a word ("restored", "security") cannot be told from it."""
    words: set[str] = set()
    for entry in polib.pofile(str(CATALOG)):
        words |= set(WORD.findall(entry.msgid))
    for text in _strings(yaml.safe_load(template_text("en"))):
        if " " in text:
            words |= set(WORD.findall(text))
    return words


def english_leaks(text: str, codes: set[str]) -> set[str]:
    """Codes that are not English words (eng-duty, on_site, DETECH) and durations as the plan
    spells them (5m), wherever they stand."""
    for pattern in LITERAL:
        text = pattern.sub(" ", text)
    return {w for w in WORD.findall(text) if w in codes or DURATION.match(w)}


def chinese_leaks(text: str, allowed: set[str]) -> set[str]:
    """On a Chinese page every ASCII word is a system's short name, a number, or the plan's own."""
    for pattern in LITERAL:
        text = pattern.sub(" ", text)
    found = set()
    for word in WORD.findall(text):
        if re.fullmatch(r"[\d\-./:+]+", word) or word in allowed or word in UNIVERSAL:
            continue
        found.add(word)
    return found


def leaks(text: str, language: str, codes: set[str], allowed: set[str]) -> set[str]:
    found = english_leaks(text, codes)
    if language == "zh-hans":
        found |= chinese_leaks(text, allowed)
    return found


# -- the test -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("plan_language", "ui"), [("zh", "zh-hans"), ("en", "en")])
def test_no_code_reaches_a_person(db: Any, tmp_path: Path, plan_language: str, ui: str) -> None:
    load_demo(plan_language)
    plan = published()[1]  # type: ignore[index]
    run = outage(plan_language)
    allowed = plan_words(plan_language) | typed_words(plan_language)
    codes = (plan_codes(plan) | OWN_CODES) - english_vocabulary() - allowed
    found: dict[tuple[str, str], str] = {}
    languages = ("zh-hans", "en") if plan_language == "zh" else ("en",)
    for language in languages:
        for path, login in pages(run):
            response = client(login, language).get(path)
            assert response.status_code == (404 if "no-such" in path else 200), (path, login)
            text = page_text(response.content.decode())
            words = leaks(text, language, codes, allowed)
            if re.fullmatch(r"/incidents/[^/]+", path):
                words -= INCIDENT_PAGE_PENDING
            found.update(_where(f"{language} {path} ({login})", words, text))
    entries = AuditEntry.objects.filter(subject_type="incident", subject_id=run["incident"].pk).exclude(
        action__in=QUIET)
    for language in languages:
        with translation.override(language):
            for entry in entries:
                line = describe(entry, plan)
                text = f"{line.actor} {line.text}"
                found.update(_where(f"{language} timeline {entry.action}", leaks(text, language, codes, allowed), text))
    for message in Message.objects.filter(incident=run["incident"]):  # what was said to people, in the plan's language
        text = f"{message.subject} {message.body}"
        found.update(_where(f"message {message.kind} to {message.name}", leaks(text, ui, codes, allowed), text))
    office = client("info-director", ui)
    number = run["incident"].number
    documents = [f"/incidents/{number}/review"] + [f"/regulatory/{r.pk}" for r in
                                                    RegulatoryReport.objects.filter(incident=run["incident"])]
    assert len(documents) >= 4  # the review, the police report, the CAC report and its follow-up
    for document in documents:
        pdf = office.get(f"{document}.pdf")
        docx = office.get(f"{document}.docx")
        assert pdf.status_code == docx.status_code == 200, document
        for kind, text in (("pdf", pdf_text(pdf.content, tmp_path)), ("docx", docx_text(docx.content))):
            found.update(_where(f"{kind} {document}", leaks(text, ui, codes, allowed), text))
    assert not found, "\n".join(f"{where}: {word!r} in …{context}…" for (where, word), context in found.items())


def _where(where: str, words: set[str], text: str) -> dict[tuple[str, str], str]:
    """Each word found, with the text around its first place, so the message says what to fix."""
    out = {}
    for word in sorted(words):
        at = re.search(rf"(?<![A-Za-z0-9_-]){re.escape(word)}(?![A-Za-z0-9_-])", text)
        start = at.start() if at else 0
        out[(where, word)] = " ".join(text[max(0, start - 40):start + len(word) + 40].split())
    return out


def test_an_actor_is_named_as_a_person_reads_it(demo: Any) -> None:
    """One helper names every actor: a login by its user's name, a plan person by the plan's name,
    the worker and the anonymous reporter in words, a link acknowledgement as whose link it was."""
    User.objects.filter(username="eng-duty").update(first_name="周杰（值班）")
    with translation.override("zh-hans"):
        assert display_name("eng-duty", demo) == "周杰（值班）"  # the login's own name first
        assert display_name("vp-info", demo) == "李卫东"
        assert display_name("worker", demo) == "系统（自动）" and display_name("anonymous") == "匿名报告人"
        assert display_name(link_actor("陈强"), demo) == "陈强（通过确认链接）"
        assert display_name("陈强 (链接)", demo) == "陈强（通过确认链接）"  # as older entries were written
        assert display_name("住院处杨帆", demo) == "住院处杨帆"  # already a name
    with translation.override("en"):
        assert display_name("worker") == "Yingji (automatic)" and display_name(None) == "anonymous reporter"
        assert display_name(link_actor("Chen Qiang")) == "Chen Qiang (by the acknowledgement link)"


def test_durations_read_as_people_say_them(db: Any) -> None:
    with translation.override("zh-hans"):
        assert [human_duration(s) for s in (300, 5400, 30 * 86400, 45)] == [
            "5 分钟", "1 小时 30 分钟", "30 天", "45 秒"]
    with translation.override("en"):
        assert [human_duration(s) for s in (300, 5400, 86400, 10800)] == ["5 min", "1 h 30 min", "1 day", "3 h"]


def test_a_refusal_names_the_action_and_the_state_in_words(demo: Any) -> None:
    """The API keeps the codes in its fields; the sentence a person reads has none."""
    incident = actions.report_fault(CLI, system="HIS", symptom="HIS 全院无法登录", scope="hospital").incident
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    for language, expected in (("zh-hans", "事件当前状态为“已恢复”，不能确认。"),
                               ("en", "Cannot acknowledge: the incident is Restored.")):
        with translation.override(language), pytest.raises(InvalidTransition) as refused:
            actions.perform(CLI, Incident.objects.get(pk=incident.pk), "acknowledge")
        assert refused.value.message == expected
        assert refused.value.details == {"status": "restored", "action": "acknowledge", "allowed": ["close"]}
