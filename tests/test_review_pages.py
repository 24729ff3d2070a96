"""The review page: the written review into the PDF and DOCX, corrective actions whose due date
is a timer, and a report to the CAC drafted, sent in part and downloaded."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.reviews.models import CorrectiveAction, RegulatoryReport, Review
from yingji.timers import service

from .conftest import RESTORE_CHECKS


def client_for(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username=username))
    return client


def restored_outage() -> Incident:
    incident = actions.report_fault(CLI, system="HIS", symptom="HIS 全院无法登录", scope="hospital").incident
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    return Incident.objects.get(pk=incident.pk)


def test_the_written_review_goes_into_the_pdf_and_the_docx(demo: Any, tmp_path: Path) -> None:
    incident = restored_outage()
    office = client_for("info-director")
    written = {"cause": "核心交换机电源模块故障", "what_worked": "收费处 5 分钟内转为单机收费",
               "what_failed": "病区未及时领取纸质表单", "accountability": "无", "commendations": "值班工程师王某",
               "plan_revision": "预案第 4.2 条增加备用电源检查"}
    assert office.post(f"/incidents/{incident.number}/review/save", written).status_code == 302
    review = Review.objects.get(incident=incident)
    assert {f: getattr(review, f) for f in written} == written and review.updated_by == "info-director"
    assert AuditEntry.objects.filter(action="review.saved", subject_id=incident.pk).exists()

    pdf = office.get(f"/incidents/{incident.number}/review.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    (tmp_path / "review.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "review.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "核心交换机电源模块故障" in text and "预案第 4.2 条增加备用电源检查" in text
    document = docx.Document(io.BytesIO(office.get(f"/incidents/{incident.number}/review.docx").content))
    assert "收费处 5 分钟内转为单机收费" in "\n".join(p.text for p in document.paragraphs)

    # Engineers read the review; only the office and commanders write it.
    engineer = client_for("eng-duty")
    page = engineer.get(f"/incidents/{incident.number}/review").content.decode()
    assert "核心交换机电源模块故障" in page and 'id="review-form"' not in page
    engineer.post(f"/incidents/{incident.number}/review/save", {"cause": "改掉"})
    assert Review.objects.get(incident=incident).cause == written["cause"]
    assert client_for("nurse-wang").get(f"/incidents/{incident.number}/review").status_code == 403


def test_a_corrective_action_overdue_alerts_its_owner_and_the_office(demo: Any) -> None:
    incident = restored_outage()
    office = client_for("info-director")
    today = clock.now().astimezone(demo.hospital.zone()).date()
    for text, owner in (("更换交换机电源模块", "eng-net"), ("补充病区纸质表单", "ward-lead")):
        office.post(f"/incidents/{incident.number}/corrective", {"text": text, "owner": owner,
                                                                 "due_date": today.isoformat()})
    switch, forms = CorrectiveAction.objects.order_by("id")
    bad = office.post(f"/incidents/{incident.number}/corrective", {"text": "x", "owner": "nobody",
                                                                   "due_date": today.isoformat()}, follow=True)
    assert "nobody" in bad.content.decode() and CorrectiveAction.objects.count() == 2

    # The owner marks hers done from the page before the day ends: its deadline is met.
    client_for("ward-lead").post(f"/corrective/{forms.pk}/done")
    forms.refresh_from_db()
    assert forms.done_by == "ward-lead"
    assert incident.timers.get(key=f"corrective:{forms.pk}").state == "met"  # type: ignore[attr-defined]
    client_for("eng-duty").post(f"/corrective/{switch.pk}/done")  # not the owner, not the office
    switch.refresh_from_db()
    assert switch.done_at is None

    end_of_day = incident.timers.get(key=f"corrective:{switch.pk}").due_at  # type: ignore[attr-defined]
    clock.freeze(end_of_day - timedelta(seconds=5))
    service.run_due()
    assert not Message.objects.filter(kind="breach", body__contains="更换交换机电源模块").exists()
    clock.freeze(end_of_day + timedelta(seconds=1))
    service.run_due()
    told = set(Message.objects.filter(kind="breach", body__contains="更换交换机电源模块").values_list("person",
                                                                                                 flat=True))
    assert told == {"eng-net", demo.organization.office.leader}
    board = office.get("/").content.decode()
    assert 'id="corrective-due"' in board and "更换交换机电源模块" in board and "已逾期" in board


def test_a_cac_report_is_drafted_sent_in_part_and_downloaded(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="服务器文件被加密", scope="hospital",
                                    security_suspected=True).incident
    actions.update_facts(CLI, incident, security="ransomware", cause="security")
    actions.override_grade(CLI, Incident.objects.get(pk=incident.pk), "national_grade", "relatively_major", "较大")
    cac = RegulatoryReport.objects.get(incident=incident, kind="cac")
    office = client_for("info-director")

    # Evidence is logged on the incident page as it is kept; a malformed hash is refused.
    engineer = client_for("eng-duty")
    assert 'id="evidence-form"' in engineer.get(f"/incidents/{incident.number}").content.decode()
    digest = "ab" * 32
    engineer.post(f"/incidents/{incident.number}/evidence", {"kind": "image", "what": "HIS 数据库服务器磁盘镜像",
                                                             "location": "信息中心保险柜 2 号盘", "sha256": digest})
    refused = engineer.post(f"/incidents/{incident.number}/evidence", {"kind": "log", "what": "防火墙日志",
                                                                       "sha256": "xyz"}, follow=True)
    assert "64" in refused.content.decode()
    assert list(incident.evidence.values_list("kind", "sha256")) == [("image", digest)]  # type: ignore[attr-defined]
    police = RegulatoryReport.objects.get(incident=incident, kind="police")
    cells = [c.text for t in docx.Document(io.BytesIO(office.get(f"/regulatory/{police.pk}.docx").content)).tables
             for row in t.rows for c in row.cells]
    assert digest in cells and "信息中心保险柜 2 号盘" in cells
    page = office.get(f"/incidents/{incident.number}/review").content.decode()
    assert f'id="report-{cac.pk}"' in page and demo.hospital.name in page  # item 1 is pre-filled

    office.post(f"/regulatory/{cac.pk}", {"cause": "远程桌面弱口令被利用", "trend": "已隔离，不再扩散"})
    cac.refresh_from_db()
    assert cac.content["cause"] == "远程桌面弱口令被利用" and cac.sent_at is None
    missing = office.post(f"/regulatory/{cac.pk}", {"sent": "1", "channel": ""}, follow=True)
    assert "12387" in missing.content.decode() and RegulatoryReport.objects.get(pk=cac.pk).sent_at is None
    office.post(f"/regulatory/{cac.pk}", {"sent": "1", "channel": "12387 电话", "receipt": "CAC-001",
                                          "partial": "on"})
    cac.refresh_from_db()
    assert (cac.sent_by, cac.channel, cac.receipt, cac.partial) == ("info-director", "12387 电话", "CAC-001", True)
    assert RegulatoryReport.objects.filter(incident=incident, kind="cac_followup").exists()

    document = docx.Document(io.BytesIO(office.get(f"/regulatory/{cac.pk}.docx").content))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "远程桌面弱口令被利用" in body and "12387 电话" in "\n".join(
        c.text for t in document.tables for row in t.rows for c in row.cells)
    assert office.get(f"/regulatory/{cac.pk}.pdf").content.startswith(b"%PDF")
    # A sent report stays as it was sent.
    office.post(f"/regulatory/{cac.pk}", {"cause": "改写"})
    assert RegulatoryReport.objects.get(pk=cac.pk).content["cause"] == "远程桌面弱口令被利用"
