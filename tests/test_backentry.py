"""Manual records and back-entry (补录): registration, imports, the state chain, reconciliation,
sign-off and the back-entry deadline, through the API the downtime PCs and scripts use."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
from django.test import Client

from yingji.core import clock
from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.recovery.models import ManualRecord
from yingji.recovery.records import current_plan
from yingji.timers import service
from yingji.timers.models import Timer

from .conftest import RESTORED, Api, report
from .hospitals import Cast

CSV_HEADER = "kind,department,card_no,temp_no,paper_serial,occurred_at,amount,clinician,insurance\n"


def charge(serial: str, amount: str = "25.50", **extra: Any) -> dict[str, Any]:
    when = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    return {"kind": "charge", "department": "cashier", "card_no": "C0001", "paper_serial": serial,
            "occurred_at": when.isoformat(), "amount": amount, **extra}


def upload(client: Api, incident_id: int, name: str, content: bytes) -> Any:
    web = Client()
    return web.post(f"/api/v1/incidents/{incident_id}/records/import", {"file": _named(name, content)},
                    HTTP_AUTHORIZATION=f"Bearer {client.token}")


def _named(name: str, content: bytes) -> io.BytesIO:
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer


def test_a_record_names_the_bad_field_and_staff_act_for_their_own_department(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    cashier = api("cashier-li")
    created = cashier.post(f"/incidents/{incident['id']}/records", charge("S-001"))
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "pending"
    assert created.json()["allowed"] == ["enter"]

    cases = [({"amount": "12.345"}, "amount"), ({"amount": ""}, "amount"), ({"kind": "bribe"}, "kind"),
             ({"card_no": ""}, "card_no"), ({"occurred_at": "yesterday"}, "occurred_at"),
             ({"occurred_at": (clock.now() + timedelta(hours=1)).isoformat()}, "occurred_at"),
             ({"insurance": "gold"}, "insurance"), ({"paper_serial": "S-001"}, "paper_serial"),
             ({"card_no": "", "temp_no": "ZYLS000001"}, "temp_no")]
    for change, field in cases:
        response = cashier.post(f"/incidents/{incident['id']}/records", charge("S-002", **change))
        assert response.status_code == 400, (change, response.content)
        assert response.json()["field"] == field, change
    prescription = {**charge("RX-1"), "kind": "prescription", "department": "outpatient-doctors", "amount": ""}
    assert api("doctor-lead").post(f"/incidents/{incident['id']}/records", prescription).json()["field"] == "clinician"

    # A nurse of the outpatient office may not write the cashier's records.
    assert api("nurse-wang").post(f"/incidents/{incident['id']}/records", charge("S-003")).status_code == 403
    assert api("auditor").post(f"/incidents/{incident['id']}/records", charge("S-003")).status_code == 403
    assert ManualRecord.objects.count() == 1


def test_temporary_numbers_come_from_the_department_s_reserved_range(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    cashier = api("cashier-li")
    first = cashier.post("/departments/cashier/temp-number").json()["temp_no"]
    second = cashier.post("/departments/cashier/temp-number").json()["temp_no"]
    assert (first, second) == ("MZLS000001", "MZLS000002")
    ok = cashier.post(f"/incidents/{incident['id']}/records", charge("S-9", card_no="", temp_no=second))
    assert ok.status_code == 201
    assert api("cashier-li").post("/temp-ranges", {"department": "cashier", "prefix": "X", "first": 1,
                                                    "last": 9}).status_code == 403
    clash = api("info-director").post("/temp-ranges", {"department": "wards", "prefix": "MZLS", "first": 4000,
                                                       "last": 6000})
    assert clash.status_code == 400 and clash.json()["field"] == "first"


def test_import_keeps_good_rows_and_reports_each_bad_row_with_its_field(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    at = (clock.now() - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    good = [f"charge,cashier,C{i:04d},,P-{i},{at},10.00,,\n" for i in range(1, 6)]
    bad = [f"charge,cashier,C9,,P-1,{at},10.00,,\n",          # serial repeated in the file
           f"charge,nowhere,C9,,P-90,{at},10.00,,\n",         # unknown department
           f"charge,cashier,C9,,P-91,{at},-3,,\n",            # negative amount
           f"prescription,cashier,C9,,P-92,{at},,,\n"]        # no clinician
    content = (CSV_HEADER + "".join(good + bad)).encode("gb18030")  # as Excel on Chinese Windows saves it
    response = upload(api("info-director"), incident["id"], "paper-log.csv", content)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 5
    assert [(r["row"], r["field"]) for r in body["rejected"]] == [
        (7, "paper_serial"), (8, "department"), (9, "amount"), (10, "clinician")]
    assert ManualRecord.objects.filter(incident_id=incident["id"], source="import").count() == 5
    entry = AuditEntry.objects.get(action="records.imported")
    assert entry.data["accepted"] == 5 and entry.data["rejected"] == 4 and len(entry.data["sha256"]) == 64

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["kind", "department", "card_no", "paper_serial", "occurred_at", "amount", "insurance"])
    written = clock.now().replace(tzinfo=None, microsecond=0) - timedelta(hours=1)  # a wall-clock cell
    sheet.append(["charge", "cashier", 123456, "X-1", written, 8.5, "employee"])
    sheet.append(["charge", "cashier", 123457, "X-2", "not a date", 8.5, ""])
    data = io.BytesIO()
    book.save(data)
    response = upload(api("info-director"), incident["id"], "log.xlsx", data.getvalue())
    assert response.json() == {"accepted": 1, "rejected": [{"row": 3, "field": "occurred_at",
                                                           "message": response.json()["rejected"][0]["message"]}]}
    row = ManualRecord.objects.get(paper_serial="X-1")
    assert (row.card_no, str(row.amount), row.insurance_state) == ("123456", "8.50", "self_paid_pending_resettle")
    assert row.occurred_at == written.replace(tzinfo=current_plan().hospital.zone())  # read in the hospital's zone

    unknown = upload(api("info-director"), incident["id"], "x.csv", b"kind,colour\ncharge,red\n")
    assert unknown.status_code == 400 and unknown.json()["field"] == "file"


def test_back_entry_chain_reconciliation_and_sign_off(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    cashier, lead, finance = api("cashier-li"), api("cashier-head"), api("finance-head")
    ids = [cashier.post(f"/incidents/{iid}/records", charge(f"S-{i}", "10.00")).json()["id"] for i in range(3)]
    insured = cashier.post(f"/incidents/{iid}/records", charge("S-9", "50.00", insurance="resident")).json()
    assert insured["insurance_state"] == "self_paid_pending_resettle"

    assert cashier.post(f"/records/{ids[0]}/enter").json()["field"] == "his_id"
    assert lead.post(f"/records/{ids[0]}/verify").status_code == 409  # not entered yet
    assert cashier.post(f"/records/{ids[0]}/enter", {"his_id": "CHG-1"}).json()["state"] == "entered"
    assert cashier.post(f"/records/{ids[0]}/verify").status_code == 403  # staff enter, leads verify
    for rid in [*ids, insured["id"]]:
        if rid != ids[0]:
            cashier.post(f"/records/{rid}/enter", {"his_id": f"CHG-{rid}"})
        assert lead.post(f"/records/{rid}/verify").status_code == 200
        assert lead.post(f"/records/{rid}/confirm").json()["state"] == "confirmed"
    assert api("insurance-head").post(f"/records/{insured['id']}/settle").json()["insurance_state"] == "resettled"
    assert api("insurance-head").post(f"/records/{insured['id']}/settle").status_code == 409
    done = ManualRecord.objects.get(pk=ids[0])
    assert (done.his_id, done.entered_by, done.verified_by, done.confirmed_by) == (
        "CHG-1", "cashier-li", "cashier-head", "cashier-head")
    assert done.entered_at and done.verified_at and done.confirmed_at

    [row] = api("info-director").get(f"/incidents/{iid}/reconciliation").json()["departments"]
    assert {k: row[k] for k in ("department", "total", "pending", "entered", "verified", "confirmed",
                                "amount_total", "amount_confirmed", "open")} == {
        "department": "cashier", "total": 4, "pending": 0, "entered": 0, "verified": 0, "confirmed": 4,
        "amount_total": "80.00", "amount_confirmed": "80.00", "open": 0}

    # The paper log says 5 slips: it does not balance, and signing needs a note.
    assert lead.post(f"/incidents/{iid}/reconciliation/cashier", {"expected_count": 5,
                                                                  "expected_amount": "80.00"}).status_code == 200
    refused = lead.post(f"/incidents/{iid}/reconciliation/cashier/sign", {"as": "lead"})
    assert refused.status_code == 409 and "5" in refused.json()["problems"][0]
    lead.post(f"/incidents/{iid}/reconciliation/cashier", {"expected_count": 4, "expected_amount": "80.00"})
    assert api("cashier-li").post(f"/incidents/{iid}/reconciliation/cashier/sign", {"as": "lead"}).status_code == 403
    assert lead.post(f"/incidents/{iid}/reconciliation/cashier/sign", {"as": "finance"}).status_code == 403
    assert lead.post(f"/incidents/{iid}/reconciliation/cashier/sign", {"as": "lead"}).status_code == 200
    api("eng-duty").post(f"/incidents/{iid}/acknowledge")
    api("eng-duty").post(f"/incidents/{iid}/restore", RESTORED)
    assert Timer.objects.get(kind="backentry").state == "pending"
    signed = finance.post(f"/incidents/{iid}/reconciliation/cashier/sign", {"as": "finance"}).json()
    assert signed["departments"][0]["signed_off"] and signed["departments"][0]["balanced"]
    assert Timer.objects.get(kind="backentry").state == "met"
    assert AuditEntry.objects.filter(action="backentry.completed", subject_id=iid).exists()


def test_the_back_entry_deadline_lists_open_items_to_the_department_lead(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    for i in range(3):
        api("cashier-li").post(f"/incidents/{iid}/records", charge(f"OPEN-{i}"))
    api("eng-duty").post(f"/incidents/{iid}/acknowledge")
    api("eng-duty").post(f"/incidents/{iid}/restore", RESTORED)
    clock.advance(timedelta(hours=23, minutes=59))
    service.run_due()
    assert not Message.objects.filter(kind="breach", person="cashier-head").exists()
    clock.advance(timedelta(minutes=2))
    service.run_due()
    [message] = Message.objects.filter(kind="breach", person="cashier-head")
    assert "OPEN-0" in message.body and "3" in message.body
    assert Message.objects.filter(kind="breach", person="info-director").exists()
    assert Timer.objects.get(kind="backentry").state == "fired"


def test_a_whole_downtime_from_his_down_to_the_signed_review(api: Any, tmp_path: Any) -> None:
    """HIS down → stand-alone and paper declared by the timers → 200 paper records (100 typed, 100
    imported, plus 10 bad rows rejected) → restore → back-entry until every department balances →
    lead and finance sign → the review as PDF (read back by poppler) and DOCX."""
    import subprocess

    from yingji.incidents.models import DowntimeMode, Incident
    from yingji.reviews.document import render, review_doc

    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    api("eng-duty").post(f"/incidents/{iid}/acknowledge")
    start = Incident.objects.get(pk=iid).reported_at
    for after in (timedelta(minutes=30, seconds=1), timedelta(hours=3, seconds=1)):
        clock.freeze(start + after)
        service.run_due()
    modes = set(DowntimeMode.objects.filter(incident_id=iid).values_list("department", "mode"))
    assert ("cashier", "standalone") in modes and ("wards", "manual") in modes

    cashier = api("cashier-li")
    for i in range(100):
        assert cashier.post(f"/incidents/{iid}/records", charge(f"T-{i:03d}", "12.00")).status_code == 201
    at = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    rows = [f"medication,wards,Z{i:05d},,W-{i:03d},{at},,护士张,\n" for i in range(100)]
    rows += [f"medication,wards,Z9,,W-{i:03d},{at},,,\n" for i in range(100, 110)]  # no clinician
    imported = upload(api("ward-lead"), iid, "wards.csv", (CSV_HEADER + "".join(rows)).encode()).json()
    assert imported["accepted"] == 100
    assert len(imported["rejected"]) == 10 and {r["field"] for r in imported["rejected"]} == {"clinician"}
    assert {r["row"] for r in imported["rejected"]} == set(range(102, 112))

    api("eng-duty").post(f"/incidents/{iid}/restore", RESTORED)
    leads = {"cashier": (cashier, api("cashier-head")), "wards": (api("ward-lead"), api("ward-lead"))}
    for record in ManualRecord.objects.filter(incident_id=iid):
        clerk, lead = leads[record.department]
        assert clerk.post(f"/records/{record.pk}/enter", {"his_id": f"HIS-{record.pk}"}).status_code == 200
        assert lead.post(f"/records/{record.pk}/verify").status_code == 200
        assert lead.post(f"/records/{record.pk}/confirm").status_code == 200
    for department, (_clerk, lead) in leads.items():
        total = "1200.00" if department == "cashier" else None
        lead.post(f"/incidents/{iid}/reconciliation/{department}", {"expected_count": 100, "expected_amount": total})
        assert lead.post(f"/incidents/{iid}/reconciliation/{department}/sign", {"as": "lead"}).status_code == 200
        assert api("finance-head").post(f"/incidents/{iid}/reconciliation/{department}/sign",
                                        {"as": "finance"}).status_code == 200
    balance = api("info-director").get(f"/incidents/{iid}/reconciliation").json()["departments"]
    assert [(d["department"], d["total"], d["open"], d["balanced"], d["signed_off"]) for d in balance] == [
        ("cashier", 100, 0, True, True), ("wards", 100, 0, True, True)]
    assert Timer.objects.get(kind="backentry").state == "met"

    row = Incident.objects.get(pk=iid)
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(render(review_doc(row), "pdf"))
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    assert list(tmp_path.glob("p*.png"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "补录与对账" in text and "收费科" in text and "1200.00" in text and "补录完成并已签字确认" in text
    assert render(review_doc(row), "docx")[:2] == b"PK"


# -- the second hospital: its own kinds, its own target system, its own settlers -------------------


def slip(hospital: Cast, serial: str, kind: str, department: str, **extra: Any) -> dict[str, Any]:
    when = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    return {"kind": kind, "department": department, "card_no": "H0001", "paper_serial": serial,
            "occurred_at": when.isoformat(), **extra}


def second_hospital_outage(db: Any) -> tuple[Cast, int]:
    cast = Cast.publish("second")
    return cast, cast.report(scope="hospital")["id"]


def test_record_kinds_are_the_plan_s_and_a_blood_issue_goes_back_into_the_blood_bank_system(db: Any) -> None:
    cast, iid = second_hospital_outage(db)
    blood = cast.api(cast.lead("blood-bank"))
    refused = blood.post(f"/incidents/{iid}/records", slip(cast, "B-0", "charge", "blood-bank", amount="1.00"))
    assert refused.status_code == 400 and refused.json()["field"] == "kind"  # not one of this plan's kinds
    assert "blood_issue (Blood issue)" in refused.json()["detail"]
    unsigned = blood.post(f"/incidents/{iid}/records", slip(cast, "B-1", "blood_issue", "blood-bank"))
    assert unsigned.status_code == 400 and unsigned.json()["field"] == "clinician"
    assert "Blood issue" in unsigned.json()["detail"]
    issued = blood.post(f"/incidents/{iid}/records", slip(cast, "B-1", "blood_issue", "blood-bank",
                                                          clinician="Dr Quinn"))
    assert issued.status_code == 201, issued.content
    payment = cast.api(cast.clerk("front-desk")).post(f"/incidents/{iid}/records",
                                                       slip(cast, "P-1", "payment", "front-desk"))
    assert payment.status_code == 400 and payment.json()["field"] == "amount"  # a payment needs an amount

    # A typed-up log may name the kind as the plan does.
    content = (CSV_HEADER + f"Cross-match,blood-bank,H0002,,B-2,{clock.now():%Y-%m-%d %H:%M},,Dr Quinn,\n").encode()
    assert upload(cast.api(cast.office), iid, "blood.csv", content).json() == {"accepted": 1, "rejected": []}
    assert ManualRecord.objects.get(paper_serial="B-2").kind == "cross_match"

    missing = blood.post(f"/records/{issued.json()['id']}/enter")
    assert missing.json()["field"] == "his_id" and "BBS" in missing.json()["detail"]  # not HIS, not even CIS
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(blood.user)
    page = web.get(f"/incidents/{Incident.objects.get(pk=iid).number}/records").content.decode()
    row = page.split(f'data-record="{issued.json()["id"]}"')[1].split("data-record=")[0]
    assert "<td>Blood issue</td>" in row and 'placeholder="BBS id"' in row
    assert "entered into CIS with its CIS id" in page and "HIS" not in page
    blood.post(f"/records/{issued.json()['id']}/enter", {"his_id": "BB-77"})
    row = web.get(f"/incidents/{Incident.objects.get(pk=iid).number}/records?state=all").content.decode()
    assert "Entered in BBS" in row and "BBS BB-77" in row

    from yingji.reviews.document import review_doc

    blocks = [b for kind, b in review_doc(Incident.objects.get(pk=iid)).blocks if kind == "table"]
    by_kind = next(b.rows for b in blocks if b.rows[0][0] == "Kind of record")  # type: ignore[attr-defined]
    assert ["Blood issue", "1", "0.00", "Blood bank system"] in by_kind
    assert ["Cross-match", "1", "0.00", "Blood bank system"] in by_kind


def test_who_settles_is_the_plan_s_list_not_the_department_kind(db: Any) -> None:
    """Reception is a finance department, but this plan names patient accounts and the claims office
    as the ones who settle insured records: reception's lead settles nothing and sees her own desk."""
    cast, iid = second_hospital_outage(db)
    desk = cast.api(cast.clerk("front-desk"))
    insured = desk.post(f"/incidents/{iid}/records", slip(cast, "P-1", "payment", "front-desk", amount="40.00",
                                                         insurance="private")).json()
    assert insured["insurance_state"] == "self_paid_pending_resettle"
    ward = cast.api(cast.lead("ward-a")).post(f"/incidents/{iid}/records", slip(
        cast, "W-1", "prescription", "ward-a", clinician="Dr Holt", insurance="employer")).json()
    assert ward["insurance_state"] == "on_account"  # a ward (kind inpatient) parks it on account
    admitted = desk.post(f"/incidents/{iid}/records", slip(cast, "A-1", "admission", "front-desk",
                                                          insurance="private")).json()
    assert admitted["insurance_state"] == "on_account"  # an inpatient kind, whoever wrote it
    desk.post(f"/records/{insured['id']}/enter", {"his_id": "CIS-1"})

    desk_lead, billing = cast.api(cast.lead("front-desk")), cast.api(cast.lead("billing"))
    refused = desk_lead.post(f"/records/{insured['id']}/settle")  # her desk's record, but not hers to settle
    assert refused.status_code == 403 and "Patient accounts, Insurance claims" in refused.json()["detail"]
    assert {r["department"] for r in desk_lead.get(f"/incidents/{iid}/records").json()} == {"front-desk"}
    assert {r["department"] for r in billing.get(f"/incidents/{iid}/records").json()} == {"front-desk", "ward-a"}
    number = Incident.objects.get(pk=iid).number
    for who, offered in ((desk_lead, False), (billing, True)):  # the button only for whom the plan lets settle
        web = Client()
        web.force_login(who.user)
        assert ('data-step="settle"' in web.get(f"/incidents/{number}/records?department=").content.decode()) is offered
    assert billing.post(f"/records/{insured['id']}/settle").json()["insurance_state"] == "resettled"
    ward_row = ManualRecord.objects.get(pk=ward["id"])
    cast.api(cast.lead("ward-a")).post(f"/records/{ward_row.pk}/enter", {"his_id": "CIS-2"})
    assert cast.api(cast.lead("claims")).post(f"/records/{ward_row.pk}/settle").json()["insurance_state"] == "settled"


def test_a_kind_code_may_be_as_long_as_any_plan_code(db: Any) -> None:
    """The column held 16 characters, the kinds Yingji had; a plan code has up to 40."""
    import yaml

    from .hospitals import plan_text

    data = yaml.safe_load(plan_text("second"))
    long_code = "irradiated_platelets_issue_from_stock"
    data["recovery"]["record_kinds"].append({"code": long_code, "name": "Irradiated platelets", "system": "BBS"})
    cast = Cast.publish("second", yaml.safe_dump(data, allow_unicode=True))
    iid = cast.report(scope="hospital")["id"]
    made = cast.api(cast.lead("blood-bank")).post(f"/incidents/{iid}/records",
                                                  slip(cast, "B-9", long_code, "blood-bank"))
    assert made.status_code == 201, made.content
    assert ManualRecord.objects.get(pk=made.json()["id"]).kind == long_code


def test_a_plan_without_kinds_says_yingji_s_own_in_the_reader_s_language(demo: Any) -> None:
    """A plan written before record kinds were plan data keeps the eight kinds, named as before."""
    from django.utils.translation import override

    from yingji.plans.loader import parse_plan, template_text
    from yingji.recovery.kinds import kind_name

    data = __import__("yaml").safe_load(template_text("en"))
    data["recovery"].pop("record_kinds")
    plan = parse_plan(__import__("yaml").safe_dump(data, allow_unicode=True))
    with override("zh-hans"):
        assert kind_name(plan, "charge") == "收费" and kind_name(plan, "medication") == "给药记录"
    with override("en"):
        assert kind_name(plan, "charge") == "Charge"
    with override("en"):
        assert kind_name(demo, "charge") == "收费"  # the Chinese plan names its kinds itself
