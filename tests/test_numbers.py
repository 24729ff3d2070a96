"""Amounts and counts that a column cannot hold are refused, by the checker and by the database.

`expected_amount: "1e400"` used to be stored as Infinity, after which reconciliation, the
worklist, the review, signing and closing all failed with 500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.test import Client

from yingji.accounts.models import User
from yingji.incidents.models import Incident
from yingji.recovery.models import ManualRecord, Reconciliation

from .conftest import report
from .test_backentry import charge

POISON = ["1e400", "NaN", "Infinity", "-Infinity", "-1", "1000000000000", "1e12", "0.001", "12abc"]


@pytest.fixture
def incident(api: Any) -> dict[str, Any]:
    incident = report(api("nurse-wang"), scope="hospital")
    assert api("cashier-li").post(f"/incidents/{incident['id']}/records", charge("S-1", "10.00")).status_code == 201
    return incident


def _still_reads(api: Any, incident: dict[str, Any]) -> None:
    office = api("info-director")
    assert office.get(f"/incidents/{incident['id']}/reconciliation").status_code == 200
    web = Client()
    web.force_login(User.objects.get(username="info-director"))
    number = _number(incident)
    for page in (f"/incidents/{number}/records", f"/incidents/{number}/review", f"/incidents/{number}/review.pdf"):
        assert web.get(page).status_code == 200, page


def test_the_paper_log_total_must_be_a_finite_amount_its_column_holds(api: Any, incident: Any) -> None:
    lead = api("cashier-head")
    path = f"/incidents/{incident['id']}/reconciliation/cashier"
    for value in POISON:
        refused = lead.post(path, {"expected_count": 1, "expected_amount": value})
        assert refused.status_code == 422, (value, refused.content)
        assert refused.json()["field"] == "expected_amount", value
    for value in (-1, 2**31, 10**30):
        refused = lead.post(path, {"expected_count": value})
        assert refused.status_code == 422 and refused.json()["field"] == "expected_count", value
    assert lead.post(path, {"expected_count": 1, "expected_amount": "10.00"}).status_code == 200
    assert Reconciliation.objects.get().expected_amount == Decimal("10.00")
    _still_reads(api, incident)


def test_the_worklist_form_names_the_bad_total_and_keeps_the_old_one(api: Any, incident: Any) -> None:
    web = Client()
    web.force_login(User.objects.get(username="cashier-head"))
    path = f"/incidents/{_number(incident)}/reconciliation/cashier"
    web.post(path, {"expected_count": "1", "expected_amount": "10.00"})
    for count, amount in (("1", "1e400"), ("1", "NaN"), ("x", "10.00"), ("99999999999", "10.00"), ("1", "abc")):
        page = web.post(path, {"expected_count": count, "expected_amount": amount}, follow=True)
        assert page.status_code == 200 and 'class="error' in page.content.decode(), (count, amount)
    rec = Reconciliation.objects.get()
    assert (rec.expected_count, rec.expected_amount) == (1, Decimal("10.00"))


def test_record_amounts_and_dates_out_of_range_name_their_field(api: Any, incident: Any) -> None:
    cashier = api("cashier-li")
    for amount in POISON:
        refused = cashier.post(f"/incidents/{incident['id']}/records", charge("S-2", amount))
        assert refused.status_code == 400 and refused.json()["field"] == "amount", amount
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1900-01-01T08:00:00"):
        refused = cashier.post(f"/incidents/{incident['id']}/records", {**charge("S-2"), "occurred_at": when})
        assert refused.status_code == 400 and refused.json()["field"] == "occurred_at", when
    refused = cashier.post(f"/incidents/{incident['id']}/records", charge("S-\x002"))
    assert refused.status_code == 422 and refused.json()["field"] == "paper_serial"  # refused at the API's edge
    from yingji.recovery import records
    checker = records.Checker(records.current_plan(), Incident.objects.get(pk=incident["id"]))
    assert checker.clean(charge("S-\x003"))[1] == [("paper_serial", "含有 NUL 字符。")]  # and by the checker
    assert ManualRecord.objects.count() == 1


def test_the_database_refuses_an_amount_out_of_range(incident: Any) -> None:
    """SQLite by the CHECK constraint; PostgreSQL already by the numeric column's precision."""
    refused = (IntegrityError, DataError)
    record = ManualRecord.objects.get()
    table = ManualRecord._meta.db_table
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET amount = %s WHERE id = %s", [1e300, record.pk])
    rec = Reconciliation.objects.create(incident=record.incident, department="cashier")
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Reconciliation._meta.db_table} SET expected_amount = %s WHERE id = %s",
                       [float("inf"), rec.pk])


@pytest.mark.sqlite_only
def test_an_infinite_total_stored_before_the_check_is_cleared_on_upgrade(api: Any, incident: Any) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("yingji.recovery.migrations.0002_amounts_in_range")
    rec = Reconciliation.objects.create(incident_id=incident["id"], department="cashier", expected_count=1)
    with connection.cursor() as cursor:  # as an older release could store it
        cursor.execute("PRAGMA ignore_check_constraints = ON")
        cursor.execute(f"UPDATE {Reconciliation._meta.db_table} SET expected_amount = 9e999 WHERE id = %s",
                       [rec.pk])
        cursor.execute("PRAGMA ignore_check_constraints = OFF")
    with pytest.raises(Exception):  # noqa: B017 - what every reader hit before the upgrade
        Reconciliation.objects.get(pk=rec.pk)
    migration.clear_bad_amounts(apps, connection.schema_editor())
    rec = Reconciliation.objects.get(pk=rec.pk)
    assert rec.expected_amount is None and "cleared on upgrade" in rec.note
    _still_reads(api, incident)


def test_one_person_cannot_sign_as_both_lead_and_finance(api: Any, incident: Any) -> None:
    office = api("info-director")
    path = f"/incidents/{incident['id']}/reconciliation/cashier"
    office.post(path, {"expected_count": 1, "expected_amount": "10.00"})
    assert office.post(f"{path}/sign", {"as": "lead", "note": "checked"}).status_code == 200
    refused = office.post(f"{path}/sign", {"as": "finance", "note": "checked"})
    assert refused.status_code == 403, refused.content
    assert not Reconciliation.objects.get().finance_signed_at
    assert api("finance-head").post(f"{path}/sign", {"as": "finance", "note": "checked"}).status_code == 200


def _number(incident: dict[str, Any]) -> str:
    return Incident.objects.get(pk=incident["id"]).number
