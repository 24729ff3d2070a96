"""The audit chain: `yingji audit verify` passes on an honest log and names the first tampered entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from yingji.accounts.models import User
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
    assert f"BROKEN (edited) at entry {victim.pk}" in capsys.readouterr().err


def test_edited_data_is_caught_even_with_a_recomputed_hash(history: list[AuditEntry]) -> None:
    """Rewriting one entry's hash to match its new content: its MAC, made with a key the database
    does not hold, no longer matches."""
    victim = history[2]
    data = {**victim.data, "channel": "phone"}
    new_hash = audit.entry_hash(victim.prev_hash, victim.at, victim.actor, victim.action, victim.subject_type,
                                victim.subject_id, data)
    entry = AuditEntry.objects.get(pk=victim.pk)
    raw("UPDATE {table} SET data = %s, hash = %s WHERE id = %s",
        [json.dumps(data), new_hash, entry.pk])
    result = audit.verify()
    assert (result.ok, result.bad_id, result.kind) == (False, victim.pk, "edited")


def test_a_deleted_entry_is_named(history: list[AuditEntry]) -> None:
    raw("DELETE FROM {table} WHERE id = %s", [history[3].pk])
    result = audit.verify()
    assert (result.ok, result.bad_id) == (False, history[4].pk)
    assert "removed" in result.reason


def _rewrite_from(history: list[AuditEntry], index: int, change: dict[str, Any]) -> None:
    """What someone with write access to the table and this code can do: edit one entry and
    recompute every later hash and link, so the plain chain is whole again."""
    prev = history[index].prev_hash
    for position, entry in enumerate(history[index:]):
        data = {**entry.data, **change} if position == 0 else entry.data
        digest = audit.entry_hash(prev, entry.at, entry.actor, entry.action, entry.subject_type,
                                  entry.subject_id, data)
        raw("UPDATE {table} SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(data), prev, "x" * 64 if position == 0 else digest, entry.pk])
        raw("UPDATE {table} SET hash = %s WHERE id = %s", [digest, entry.pk])
        prev = digest


def test_an_entry_edited_with_every_later_hash_recomputed_is_caught_by_its_mac(history: list[AuditEntry]) -> None:
    _rewrite_from(history, 2, {"channel": "phone"})
    result = audit.verify()
    assert (result.ok, result.bad_id, result.kind) == (False, history[2].pk, "edited")
    assert "MAC" in result.reason


def test_removing_the_newest_entries_is_caught_by_the_anchor(history: list[AuditEntry], settings: Any,
                                                              capsys: pytest.CaptureFixture) -> None:
    assert audit.write_anchor(force=True) is not None
    assert audit.verify().ok and audit.verify().anchors == 1
    raw("DELETE FROM {table} WHERE id >= %s", [history[-3].pk])
    result = audit.verify()
    assert (result.ok, result.kind, result.bad_id) == (False, "truncated", history[-1].pk)
    assert f"{len(history)} entries" in result.reason
    assert main(["audit", "verify"]) == 1
    assert "truncated" in capsys.readouterr().err


def test_an_anchored_entry_removed_from_the_middle_is_named(history: list[AuditEntry]) -> None:
    audit.write_anchor(force=True)
    raw("DELETE FROM {table} WHERE id = %s", [history[3].pk])
    result = audit.verify()
    assert (result.ok, result.kind, result.bad_id) == (False, "removed", history[4].pk)


def test_reordered_entries_are_named_as_reordered(history: list[AuditEntry]) -> None:
    first, second = history[3], history[4]
    columns = ("at", "actor", "action", "subject_type", "subject_id", "data", "prev_hash", "hash", "mac")
    values = {e.pk: [getattr(e, c) if c != "data" else json.dumps(e.data) for c in columns] for e in (first, second)}
    raw("UPDATE {table} SET hash = %s WHERE id = %s", ["y" * 64, first.pk])
    raw("UPDATE {table} SET " + ", ".join(f"{c} = %s" for c in columns) + " WHERE id = %s",
        [*values[first.pk], second.pk])
    raw("UPDATE {table} SET " + ", ".join(f"{c} = %s" for c in columns) + " WHERE id = %s",
        [*values[second.pk], first.pk])
    result = audit.verify()
    assert (result.ok, result.kind, result.bad_id) == (False, "reordered", first.pk)


def test_a_rewritten_chain_that_ends_at_the_same_length_differs_from_its_anchor(
        history: list[AuditEntry], monkeypatch: Any) -> None:
    audit.write_anchor(force=True)
    # Even with the key (an insider), a rewritten chain no longer matches the anchor it left outside.
    _rewrite_from(history, 2, {"channel": "phone"})
    for entry in AuditEntry.objects.filter(id__gte=history[2].pk):
        raw("UPDATE {table} SET mac = %s WHERE id = %s", [audit.entry_mac(entry.hash), entry.pk])
    result = audit.verify()
    assert (result.ok, result.kind, result.bad_id) == (False, "edited", history[-1].pk)
    assert "anchor" in result.reason


def test_anchors_are_written_every_n_entries_or_minutes_and_a_forged_one_is_flagged(
        api: Any, settings: Any) -> None:
    from datetime import timedelta
    from pathlib import Path

    from yingji.core import clock

    settings.YINGJI_AUDIT_ANCHOR_EVERY = 5
    report(api("nurse-wang"))
    assert audit.write_anchor() is not None
    assert audit.write_anchor() is None  # nothing new
    audit.append("test", "test.step", "system", None)
    assert audit.write_anchor() is None  # one entry, a few seconds: not yet
    clock.advance(timedelta(minutes=11))
    assert audit.write_anchor() is not None
    path = Path(settings.YINGJI_AUDIT_ANCHOR_FILE)
    assert path.stat().st_mode & 0o777 == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["mac"] for line in lines)
    forged = json.loads(lines[1])
    forged["count"] += 10
    path.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    result = audit.verify()
    assert result.ok and result.warnings == ["anchor line 2 is damaged or was not written with this key"]


def test_the_audit_key_lives_beside_the_data_with_owner_only_permissions(tmp_path: Any, settings: Any,
                                                                        monkeypatch: Any) -> None:
    monkeypatch.delenv("YINGJI_AUDIT_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    audit.audit_key.cache_clear()
    try:
        key = audit.audit_key()
        assert len(key) == 64 and (tmp_path / "audit_key").stat().st_mode & 0o777 == 0o600
    finally:
        audit.audit_key.cache_clear()


def test_rekeying_re_signs_the_chain_and_keeps_old_anchors_checkable(
        history: list[AuditEntry], tmp_path: Any, settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("YINGJI_AUDIT_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    audit.audit_key.cache_clear()
    try:
        raw("UPDATE {table} SET mac = %s", [""])  # signed under this test's fresh key
        for entry in AuditEntry.objects.all():
            raw("UPDATE {table} SET mac = %s WHERE id = %s", [audit.entry_mac(entry.hash), entry.pk])
        audit.write_anchor(force=True)
        old = audit.key_id()
        assert main(["audit", "rekey"]) == 0
        assert audit.key_id() != old and (tmp_path / "audit_key.old").exists()
        result = audit.verify()
        assert result.ok and result.anchors == 2 and result.checked == len(history) + 1
        raw("DELETE FROM {table} WHERE id >= %s", [history[-1].pk])
        assert audit.verify().kind == "truncated"  # the newer anchor, under the new key, still holds
    finally:
        audit.audit_key.cache_clear()


def test_the_office_is_mailed_the_chain_s_head_every_morning(api: Any, settings: Any) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from yingji.core import clock
    from yingji.core.sinks import SmtpSink
    from yingji.notify.models import Message
    from yingji.notify.service import deliver_due
    from yingji.timers import service
    from yingji.timers.models import Timer

    clock.freeze(datetime(2026, 3, 2, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    report(api("nurse-wang"))
    settings.YINGJI_EMAIL_URL = ""
    service.self_audit()
    assert not Timer.objects.filter(kind="audit_digest").exists()  # no email: no digest
    with SmtpSink() as smtp:
        settings.YINGJI_EMAIL_URL = smtp.url
        service.self_audit()
        [timer] = Timer.objects.filter(kind="audit_digest")
        assert timer.due_at == datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        clock.advance(timedelta(hours=17, minutes=1))
        service.run_due()
        head = AuditEntry.objects.filter(action="audit.digest").get().data["head"]
        assert head == AuditEntry.objects.filter(action="audit.digest").get().prev_hash
        digests = Message.objects.filter(kind="digest")
        assert set(digests.values_list("person", flat=True)) == set(
            User.objects.filter(role="office").exclude(person="").values_list("person", flat=True))
        deliver_due()
        mails = [m for m in smtp.messages if "审计" in m["Subject"]]
        assert mails and head in mails[0].get_content()
        assert Timer.objects.get(kind="audit_digest", state="pending").due_at == datetime(
            2026, 3, 4, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_an_anchor_file_that_cannot_be_written_does_not_stop_the_worker_paging(
        history: list[AuditEntry], settings: Any, monkeypatch: Any) -> None:
    from yingji.timers import service
    from yingji.timers.worker import Worker

    settings.YINGJI_AUDIT_ANCHOR_FILE = "/dev/null/cannot/be/a/directory/anchors.jsonl"
    with pytest.raises(OSError):
        audit.write_anchor(force=True)
    rounds = []
    worker = Worker(poll_s=0.01, beat_every_s=0.0)
    monkeypatch.setattr(worker, "run_once", lambda: rounds.append(1) or 0)
    worker.run(max_seconds=0.3)
    assert len(rounds) > 5  # the loop went on firing timers and sending pages
    assert service.worker_alive()


def test_a_short_audit_key_is_refused_and_rekey_waits_for_the_worker_to_stop(
        history: list[AuditEntry], monkeypatch: Any, capsys: pytest.CaptureFixture) -> None:
    from yingji.timers import service

    monkeypatch.setenv("YINGJI_AUDIT_KEY", "short")
    audit.audit_key.cache_clear()
    try:
        with pytest.raises(audit.AuditKeyError):
            audit.audit_key()
    finally:
        monkeypatch.delenv("YINGJI_AUDIT_KEY")
        audit.audit_key.cache_clear()
    service.beat("test-worker")
    assert main(["audit", "rekey"]) == 1
    assert "stop Yingji" in capsys.readouterr().err


def test_a_damaged_or_forged_last_anchor_line_does_not_stop_anchoring(history: list[AuditEntry],
                                                                       settings: Any) -> None:
    from pathlib import Path

    path = Path(settings.YINGJI_AUDIT_ANCHOR_FILE)
    path.write_text('{"at": "not a time", "count": 1, "last_id": 1, "head": "x", "kid": "y", "mac": "z"}\n')
    assert audit.write_anchor() is not None
    assert audit.verify().ok


def test_an_anchor_under_a_made_up_key_is_a_warning_not_a_false_alarm(history: list[AuditEntry],
                                                                       settings: Any) -> None:
    from pathlib import Path

    audit.write_anchor(force=True)
    with open(Path(settings.YINGJI_AUDIT_ANCHOR_FILE), "a") as out:
        out.write(json.dumps({"at": "2026-01-01T00:00:00+00:00", "count": 999, "last_id": history[1].pk,
                              "head": "f" * 64, "kid": "madeup123456", "mac": "0"}) + "\n")
    result = audit.verify()
    assert result.ok and result.anchors == 2 and len(result.warnings) == 1
