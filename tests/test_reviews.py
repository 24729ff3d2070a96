"""Regulatory deadlines with a moved clock, and the review exported as a PDF poppler can read
and a DOCX, in the plan's language."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.incidents import actions
from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.plans import actions as plan_actions
from yingji.plans.loader import template_text
from yingji.plans.store import forget_published
from yingji.reviews import regulatory
from yingji.reviews.document import regulatory_doc, render, review_doc
from yingji.reviews.models import RegulatoryReport
from yingji.timers import service

from .conftest import RESTORE_CHECKS, RESTORED, report


def _breaches(kind: str) -> int:
    return Message.objects.filter(kind="breach", body__contains=str(RegulatoryReport.Kind(kind).label)).count()


def _dashboard(username: str) -> str:
    web = Client()
    web.force_login(User.objects.get(username=username))
    return web.get("/").content.decode()


@pytest.mark.parametrize("cii, cac_hours", [(False, 4), (True, 1)])
def test_police_and_cac_deadlines_fire_and_show_on_the_commander_s_dashboard(api: Any, cii: bool,
                                                                            cac_hours: int) -> None:
    if cii:
        plan_actions.import_and_publish(CLI, template_text("zh").replace("  cii: false", "  cii: true"), note="CII")
        forget_published()
    incident = report(api("nurse-wang"), security_suspected=True)
    row = Incident.objects.get(pk=incident["id"])
    actions.update_facts(CLI, row, security="ransomware", cause="security")
    actions.override_grade(CLI, Incident.objects.get(pk=row.pk), "national_grade", "relatively_major", "annex: 较大")
    owed = {r.kind: r for r in RegulatoryReport.objects.filter(incident_id=row.pk)}
    assert set(owed) == {"police", "cac"}
    assert owed["cac"].due_at == row.reported_at + timedelta(hours=cac_hours)
    assert owed["police"].due_at == row.reported_at + timedelta(hours=24)
    assert "reports-owed" in _dashboard("dean") and "reports-owed" not in _dashboard("nurse-wang")

    clock.freeze(row.reported_at + timedelta(hours=cac_hours) - timedelta(seconds=5))
    service.run_due()
    assert _breaches("cac") == 0
    clock.freeze(row.reported_at + timedelta(hours=cac_hours, seconds=1))
    service.run_due()
    assert Message.objects.filter(kind="breach", person="dean").exists()
    assert _breaches("cac") >= 1 and _breaches("police") == 0
    assert "已逾期" in _dashboard("dean")

    # The police report goes out in time; its deadline is met and never fires.
    regulatory.approve(CLI, owed["police"])  # 经有关领导同意后
    regulatory.mark_sent(CLI, owed["police"], channel="110 / 网安支队 in person", receipt="JJ-1")
    clock.freeze(row.reported_at + timedelta(hours=25))
    service.run_due()
    assert _breaches("police") == 0
    assert row.timers.get(key=f"regulatory:{owed['police'].pk}").state == "met"  # type: ignore[attr-defined]

    # A partial first CAC report (items 1-2) owes a follow-up; restore starts the 30-day summary.
    regulatory.mark_sent(CLI, owed["cac"], channel="12387", partial=True)
    actions.acknowledge(CLI, Incident.objects.get(pk=row.pk))
    actions.restore(CLI, Incident.objects.get(pk=row.pk), checks=RESTORE_CHECKS)
    kinds = set(RegulatoryReport.objects.filter(incident_id=row.pk).values_list("kind", flat=True))
    assert {"cac_followup", "cac_summary"} <= kinds
    summary = RegulatoryReport.objects.get(incident_id=row.pk, kind="cac_summary")
    assert summary.due_at == clock.now() + timedelta(days=30)


def test_a_personal_data_leak_owes_a_pipl_notice_with_its_three_items(api: Any, tmp_path: Path) -> None:
    incident = report(api("nurse-wang"), system="EMR")
    actions.update_facts(CLI, Incident.objects.get(pk=incident["id"]), security="data_leak")
    notice = RegulatoryReport.objects.get(incident_id=incident["id"], kind="pipl")
    data = render(regulatory_doc(notice), "docx")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "个人信息" in text and text.count("\n") > 3


def test_review_pdf_renders_in_poppler_with_its_chinese_text_and_docx_opens(api: Any, tmp_path: Path) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    api("eng-duty").post(f"/incidents/{incident['id']}/restore", RESTORED)
    row = Incident.objects.get(pk=incident["id"])
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(render(review_doc(row), "pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 5000
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "事件复盘报告" in text
    assert "时间线" in text and row.number in text
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "yes" in fonts.splitlines()[-1]  # the CJK font is embedded
    document = docx.Document(io.BytesIO(render(review_doc(row), "docx")))
    assert row.number in document.core_properties.title


def test_a_spreading_virus_owes_the_police_report_which_goes_out_only_once_a_leader_approves(demo: Any) -> None:
    """Seed 000: a virus infection with spread or damage is reported to the police like an
    intrusion, and only "经有关领导同意后": the approval is its own step, on the chain."""
    from yingji.core.errors import Forbidden, InvalidTransition
    from yingji.core.models import AuditEntry

    one = actions.report_fault(CLI, system="LIS", symptom="一台电脑中毒").incident
    actions.update_facts(CLI, one, security="virus")
    assert not RegulatoryReport.objects.filter(incident=one).exists()  # one workstation: no case yet
    spread = actions.report_fault(CLI, system="HIS", symptom="三楼多台电脑中毒", scope="area").incident
    actions.update_facts(CLI, spread, security="virus")
    police = RegulatoryReport.objects.get(incident=spread, kind="police")
    director, dean = User.objects.get(username="info-director"), User.objects.get(username="dean")
    try:
        regulatory.mark_sent(director, police, channel="110")
    except InvalidTransition as exc:
        assert exc.message == "向公安机关的报告须经指挥长同意后才能报送。"
    else:
        raise AssertionError("sent without approval")
    try:
        regulatory.approve(director, police)
    except Forbidden:
        pass
    else:
        raise AssertionError("the office approved its own police report")
    client = Client()
    client.force_login(dean)
    page = client.get(f"/incidents/{spread.number}/review", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-approve="police"' in page
    client.post(f"/regulatory/{police.pk}/approve")
    police.refresh_from_db()
    assert police.approved_by == "dean" and police.approved_at is not None
    # Changed after the approval, it must be approved again before it goes out.
    from yingji.reviews import actions as review_actions

    review_actions.save_report_draft(director, police, {"facts": police.content.get("facts", "") + "（补充）"})
    police.refresh_from_db()
    assert police.approved_at is None
    try:
        regulatory.mark_sent(director, police, channel="110")
    except InvalidTransition:
        pass
    else:
        raise AssertionError("sent a text nobody approved")
    regulatory.approve(dean, police)
    regulatory.mark_sent(director, police, channel="110")
    assert AuditEntry.objects.filter(subject_id=spread.pk, action="regulatory.approved").count() == 2


def test_the_follow_up_to_a_partial_cac_report_is_due_when_the_plan_says(api: Any) -> None:
    """Its deadline is the plan's (`regulatory.cac_followup_within`, 24 h unless the plan says otherwise)."""
    plan_actions.import_and_publish(CLI, template_text("zh").replace(
        "  summary_within: 30d", "  cac_followup_within: 12h\n  summary_within: 30d"), note="12 h follow-up")
    forget_published()
    incident = report(api("nurse-wang"), security_suspected=True)
    row = Incident.objects.get(pk=incident["id"])
    actions.update_facts(CLI, row, security="ransomware", cause="security")
    actions.override_grade(CLI, Incident.objects.get(pk=row.pk), "national_grade", "relatively_major", "annex: 较大")
    clock.freeze(clock.now())
    regulatory.mark_sent(CLI, RegulatoryReport.objects.get(incident_id=row.pk, kind="cac"), channel="12387",
                         partial=True)
    followup = RegulatoryReport.objects.get(incident_id=row.pk, kind="cac_followup")
    assert followup.due_at == clock.now() + timedelta(hours=12)
