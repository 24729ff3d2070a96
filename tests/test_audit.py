"""The audit chain: `yingji audit verify` passes on an honest log and names the first tampered entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from yingji.cli import main
from yingji.core import audit
from yingji.core.models import AuditEntry

from .conftest import report


@pytest.fixture
def history(api: Any) -> list[AuditEntry]:
    incident = report(api("nurse-wang"))
    report(api("nurse-wang"))
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    return list(AuditEntry.objects.order_by("id"))


def raw(sql: str, params: list[Any]) -> None:
    """Tamper the way an attacker with database access would: straight SQL, no Django model."""
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", AuditEntry._meta.db_table), params)


def test_an_honest_chain_verifies(history: list[AuditEntry], capsys: pytest.CaptureFixture) -> None:
    assert audit.verify().ok
    assert main(["audit", "verify"]) == 0
    assert f"{len(history)} entries" in capsys.readouterr().out


def test_an_edited_entry_is_named(history: list[AuditEntry], capsys: pytest.CaptureFixture) -> None:
    victim = history[4]
    raw("UPDATE {table} SET actor = %s WHERE id = %s", ["someone-else", victim.pk])
    result = audit.verify()
    assert (result.ok, result.bad_id) == (False, victim.pk)
    assert "edited" in result.reason
    assert main(["audit", "verify"]) == 1
    assert f"BROKEN at entry {victim.pk}" in capsys.readouterr().err


def test_edited_data_is_caught_even_with_a_recomputed_hash(history: list[AuditEntry]) -> None:
    """Rewriting one entry's hash to match its new content breaks the link to the next entry."""
    victim = history[2]
    data = {**victim.data, "channel": "phone"}
    new_hash = audit.entry_hash(victim.prev_hash, victim.at, victim.actor, victim.action, victim.subject_type,
                                victim.subject_id, data)
    entry = AuditEntry.objects.get(pk=victim.pk)
    raw("UPDATE {table} SET data = %s, hash = %s WHERE id = %s",
        [json.dumps(data), new_hash, entry.pk])
    result = audit.verify()
    assert (result.ok, result.bad_id) == (False, history[3].pk)


def test_a_deleted_entry_is_named(history: list[AuditEntry]) -> None:
    raw("DELETE FROM {table} WHERE id = %s", [history[3].pk])
    result = audit.verify()
    assert (result.ok, result.bad_id) == (False, history[4].pk)
    assert "removed" in result.reason
