"""The hash-chained audit log.

Every state change appends here inside the same transaction as the change itself. Appends are
serialized: SQLite already holds its single write lock (transactions start IMMEDIATE); on
PostgreSQL `write_lock()` takes a transaction-scoped advisory lock, so two writers can never
chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from . import clock
from .models import AuditEntry, Sequence

GENESIS = "0" * 64
_ADVISORY_KEY = 0x79696E676A69  # "yingji"


# SQLite has one writer at a time. Threads of one process queue on this lock (a fast hand-off)
# instead of on SQLite's busy handler, which sleeps in steps of up to 100 ms.
_sqlite_writers = threading.RLock()


@contextmanager
def writing() -> Iterator[None]:
    """The transaction every state change runs in, holding the write lock from the start."""
    with _sqlite_writers if connection.vendor == "sqlite" else nullcontext(), transaction.atomic():
        if getattr(connection, "yingji_write_locked", False):  # an outer writing() holds it
            yield
            return
        write_lock()
        # Later appends in this transaction need not ask the server again (a round trip each).
        connection.yingji_write_locked = True  # type: ignore[attr-defined]
        try:
            yield
        finally:
            connection.yingji_write_locked = False  # type: ignore[attr-defined]


def write_lock() -> None:
    """Serialize writers for the rest of the current transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("write_lock() must be called inside transaction.atomic()")
    if connection.vendor == "postgresql" and not getattr(connection, "yingji_write_locked", False):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Exactly what the JSON column will give back, so the hash can be recomputed from it."""
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, subject_type: str,
               subject_id: int | None, data: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, action, subject_type, subject_id, data],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append(actor: str, action: str, subject_type: str, subject_id: int | None,
           data: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEntry:
    write_lock()
    at = at or clock.now()
    payload = normalize(data or {})
    prev = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    digest = entry_hash(prev, at, actor, action, subject_type, subject_id, payload)
    return AuditEntry.objects.create(
        at=at, actor=actor, action=action, subject_type=subject_type, subject_id=subject_id,
        data=payload, prev_hash=prev, hash=digest,
    )


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; stop at the first entry that does not follow from the last."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return VerifyResult(True, checked)
        for row in rows:
            if row.prev_hash != prev:
                return VerifyResult(False, checked, row.id, "does not follow the entry before it "
                                    "(an entry was removed, inserted or reordered)")
            expected = entry_hash(prev, row.at, row.actor, row.action, row.subject_type,
                                  row.subject_id, row.data)
            if expected != row.hash:
                return VerifyResult(False, checked, row.id, "its content does not match its hash "
                                    "(the entry was edited)")
            prev = row.hash
            checked += 1
            last_id = row.id


def next_number(name: str) -> int:
    """The next value of a named counter; call under write_lock() in the caller's transaction."""
    with connection.cursor() as cursor:  # one statement: UPDATE ... RETURNING (SQLite 3.35+, PostgreSQL)
        cursor.execute(f"UPDATE {Sequence._meta.db_table} SET value = value + 1 WHERE name = %s RETURNING value",
                       [name])
        row = cursor.fetchone()
    if row is None:
        Sequence.objects.create(name=name, value=1)
        return 1
    return int(row[0])

