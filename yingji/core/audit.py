"""The hash-chained audit log, keyed and anchored.

Every state change appends here inside the same transaction as the change itself. Appends are
serialized: SQLite already holds its single write lock (transactions start IMMEDIATE); on
PostgreSQL `write_lock()` takes a transaction-scoped advisory lock, so two writers can never
chain onto the same predecessor.

A plain hash chain proves order, not authorship: whoever can write the table can edit an entry
and recompute every later hash. So each entry also carries `mac`, an HMAC of its hash under a
key kept outside the database (YINGJI_AUDIT_KEY, or `audit_key` in the data directory, 0600).
And removing the newest entries leaves a shorter chain that is still whole, so the worker
writes anchors (the count and head hash, every YINGJI_AUDIT_ANCHOR_EVERY entries or
YINGJI_AUDIT_ANCHOR_MINUTES) to an append-only file outside the database, and the office is
mailed the head daily; `verify` holds the chain against every anchor.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from . import bulk, clock
from .models import AuditEntry, Sequence

GENESIS = "0" * 64
_ADVISORY_KEY = 0x79696E676A69  # "yingji"


# SQLite has one writer at a time. Threads of one process queue on this lock (a fast hand-off)
# instead of on SQLite's busy handler, which sleeps in steps of up to 100 ms.
_sqlite_writers = threading.RLock()


class _ProcessWriters:
    """The same hand-off between processes (the web server and the worker): an flock on a file
    beside the database, taken before SQLite's own lock, wakes the next writer the moment the
    last one commits. Without it a worker merging a storm batch after batch keeps re-taking the
    lock while the web's writers sleep in the busy handler, and their answers wait hundreds of ms.
    Held only under `_sqlite_writers`, so one thread of the process at a time; counted, because
    writing() nests."""

    def __init__(self) -> None:
        self.depth = 0
        self.fd: int | None = None
        self.path = ""
        self.pid = 0

    def _file(self) -> int | None:
        name = str(connection.settings_dict.get("NAME") or "")
        if not name or name.startswith("file:") or ":memory:" in name:
            return None
        path = name + ".writers"
        # Its own open file per process: a descriptor inherited over fork shares the lock with the parent.
        if self.fd is None or self.path != path or self.pid != os.getpid():
            self.fd, self.path, self.pid = os.open(path, os.O_RDWR | os.O_CREAT, 0o600), path, os.getpid()
        return self.fd

    @contextmanager
    def held(self) -> Iterator[None]:
        fd = self._file() if self.depth == 0 else self.fd
        if fd is not None and self.depth == 0:
            fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if fd is not None and self.depth == 0:
                fcntl.flock(fd, fcntl.LOCK_UN)


_process_writers = _ProcessWriters()


@contextmanager
def _sqlite_lock() -> Iterator[None]:
    with _sqlite_writers, _process_writers.held():
        yield


@contextmanager
def writing() -> Iterator[None]:
    """The transaction every state change runs in, holding the write lock from the start."""
    with _sqlite_lock() if connection.vendor == "sqlite" else nullcontext(), transaction.atomic():
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


MIN_KEY_CHARS = 32


class AuditKeyError(Exception):
    pass


@cache
def audit_key() -> bytes:
    """The HMAC key: YINGJI_AUDIT_KEY, else `audit_key` in the data directory, made on first use.

    Not the web's SECRET_KEY, so rotating that (which signs sessions and links) leaves the chain
    alone, and a database backup alone is not enough to forge entries. An empty or short key
    would make the MACs forgeable, so it is refused rather than used.
    """
    if os.environ.get("YINGJI_AUDIT_KEY"):
        key = os.environ["YINGJI_AUDIT_KEY"].strip()
        where = "YINGJI_AUDIT_KEY"
    else:
        path = Path(settings.DATA_DIR) / "audit_key"
        if not path.exists():
            _write_key_file(path, secrets.token_hex(32))
        key, where = path.read_text().strip(), str(path)
    if len(key) < MIN_KEY_CHARS:
        raise AuditKeyError(f"the audit key in {where} is shorter than {MIN_KEY_CHARS} characters")
    return key.encode()


def _write_key_file(path: Path, key: str) -> None:
    """Whole or not at all: written beside, synced, then linked into place, so a process starting at
    the same moment reads either no file (and makes its own, losing the race) or the whole key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(temporary, path)  # fails if another process got there first; theirs is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def key_id(key: bytes | None = None) -> str:
    """Names the key in anchors, so an anchor made under an earlier key is recognised as such."""
    return hashlib.sha256(b"yingji-audit-key:" + (key or audit_key())).hexdigest()[:12]


def entry_mac(digest: str, key: bytes | None = None) -> str:
    return hmac.new(key or audit_key(), digest.encode(), hashlib.sha256).hexdigest()


def append(actor: str, action: str, subject_type: str, subject_id: int | None,
           data: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEntry:
    write_lock()
    at = at or clock.now()
    payload = normalize(data or {})
    prev = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    digest = entry_hash(prev, at, actor, action, subject_type, subject_id, payload)
    return AuditEntry.objects.create(
        at=at, actor=actor, action=action, subject_type=subject_type, subject_id=subject_id,
        data=payload, prev_hash=prev, hash=digest, mac=entry_mac(digest),
    )


def append_many(entries: Iterable[tuple[str, str, str, int | None, dict[str, Any]]],
                at: datetime | None = None) -> int:
    """Append (actor, action, subject_type, subject_id, data) entries in their order, chained from
    one read of the head and written in one INSERT: a storm's reports joining their incident would
    otherwise cost a read and an insert each, under the write lock the web's writers wait for."""
    write_lock()
    at, key = at or clock.now(), audit_key()
    prev = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    rows = []
    for actor, action, subject_type, subject_id, data in entries:
        payload = normalize(data)
        digest = entry_hash(prev, at, actor, action, subject_type, subject_id, payload)
        rows.append({"at": at, "actor": actor, "action": action, "subject_type": subject_type,
                     "subject_id": subject_id, "data": payload, "prev_hash": prev, "hash": digest,
                     "mac": entry_mac(digest, key)})
        prev = digest
    return bulk.insert_rows(AuditEntry, rows)


# -- anchors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    at: str
    count: int
    last_id: int
    head: str
    kid: str
    line: int = 0
    genuine: bool = True


def anchor_path() -> Path:
    return Path(settings.YINGJI_AUDIT_ANCHOR_FILE)


def _anchor_mac(fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hmac.new(audit_key(), b"anchor:" + body.encode(), hashlib.sha256).hexdigest()


def read_anchors(path: Path | None = None) -> list[Anchor]:
    """Every anchor line, each marked genuine or not.

    A line under today's key must carry its MAC. A line under an earlier key cannot be checked
    any more, so it is taken only if that key is vouched for: `rekey` writes an anchor under the
    new key naming the key it replaced (`previous`), and so on back. Anything else (a damaged
    line, a made-up key id) is kept, marked not genuine, and reported by verify as a warning.
    """
    path = path or anchor_path()
    if not path.exists():
        return []
    parsed = [(number, _parse_anchor(line, number))
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)]
    known = {key_id()}
    changed = True
    while changed:  # follow the vouching back through every rekey
        changed = False
        for _number, found in parsed:
            if found is not None and found[0].kid in known and found[1] and found[1] not in known:
                known.add(found[1])
                changed = True
    return [found[0] if found is not None and found[0].kid in known
            else Anchor("", 0, 0, "", found[0].kid if found else "", number, genuine=False)
            for number, found in parsed]


def _parse_anchor(line: str, number: int = 0) -> tuple[Anchor, str] | None:
    """An anchor line and the key it vouches for (`previous`); None when damaged, or when it claims
    today's key but its MAC does not match."""
    try:
        fields = json.loads(line)
        mac = str(fields.pop("mac"))
        anchor = Anchor(str(fields["at"]), int(fields["count"]), int(fields["last_id"]), str(fields["head"]),
                        str(fields["kid"]), number)
        datetime.fromisoformat(anchor.at)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if anchor.kid == key_id() and not hmac.compare_digest(mac, _anchor_mac(fields)):
        return None
    return anchor, str(fields.get("previous", ""))


def write_anchor(force: bool = False, previous: str = "") -> Anchor | None:
    """Append the chain's count and head to the anchor file when enough has happened since the last.

    Called by the worker every few seconds; cheap when there is nothing to do (one indexed query).
    """
    head = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
    if head is None:
        return None
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)  # two workers on one machine append whole lines
        last = _last_anchor(path)
        if last is not None and last.last_id == head[0]:
            return None
        now = clock.now()
        due = last is None or head[0] - last.last_id >= settings.YINGJI_AUDIT_ANCHOR_EVERY or (
            now - datetime.fromisoformat(last.at) >= timedelta(minutes=settings.YINGJI_AUDIT_ANCHOR_MINUTES))
        if not (due or force):
            return None
        anchor = Anchor(now.isoformat(), AuditEntry.objects.filter(id__lte=head[0]).count(), head[0], head[1],
                        key_id())
        fields = {"at": anchor.at, "count": anchor.count, "last_id": anchor.last_id, "head": anchor.head,
                  "kid": anchor.kid, **({"previous": previous} if previous else {})}
        out.write(json.dumps({**fields, "mac": _anchor_mac(fields)}, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return anchor


def _last_anchor(path: Path) -> Anchor | None:
    """The newest good line, read from the file's end (it only grows)."""
    with open(path, "rb") as stream:
        stream.seek(0, os.SEEK_END)
        stream.seek(max(0, stream.tell() - 4096))
        tail = stream.read().decode("utf-8", "replace").splitlines()
    return next((found[0] for line in reversed(tail) if (found := _parse_anchor(line))), None)


# -- verification -------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""
    kind: str = ""  # edited | removed | reordered | truncated | forged_anchor
    anchors: int = 0
    warnings: list[str] = field(default_factory=list)


def _broken_link(row: AuditEntry, checked: int) -> VerifyResult:
    """The entry does not follow the one before it: tell a reordering from a removal."""
    later = AuditEntry.objects.filter(hash=row.prev_hash).values_list("id", flat=True).first()
    if later is not None and later > row.id:
        return VerifyResult(False, checked, row.id, f"follows entry {later}, which comes after it: the entries "
                            "were reordered", "reordered")
    return VerifyResult(False, checked, row.id, "does not follow the entry before it: an entry before it was "
                        "removed (or one was inserted)", "removed")


def verify(batch: int = 5000, anchors: list[Anchor] | None = None) -> VerifyResult:
    """Walk the chain in id order, checking each link, hash and MAC, and hold it against the anchors.

    Stops at the first entry that does not follow from the last, or the first anchor the chain
    no longer matches.
    """
    anchors = read_anchors() if anchors is None else anchors
    warnings = [f"anchor line {a.line} is damaged or was not written with this key" for a in anchors
                if not a.genuine]
    pending = sorted((a for a in anchors if a.genuine), key=lambda a: a.last_id)
    key = audit_key()
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            break
        for row in rows:
            while pending and pending[0].last_id < row.id:  # the anchored entry is gone
                gone = pending.pop(0)
                return VerifyResult(False, checked, gone.last_id, f"was removed: the anchor of {gone.at} ends "
                                    f"the chain there after {gone.count} entries", "removed", len(anchors))
            if row.prev_hash != prev:
                return _broken_link(row, checked)
            expected = entry_hash(prev, row.at, row.actor, row.action, row.subject_type, row.subject_id, row.data)
            if expected != row.hash:
                return VerifyResult(False, checked, row.id, "its content does not match its hash "
                                    "(the entry was edited)", "edited")
            if not hmac.compare_digest(row.mac, entry_mac(row.hash, key)):
                return VerifyResult(False, checked, row.id, "its MAC does not match (the entry was edited, or "
                                    "written without the audit key)", "edited")
            prev = row.hash
            checked += 1
            last_id = row.id
            while pending and pending[0].last_id == row.id:
                mark = pending.pop(0)
                if mark.head != row.hash or mark.count != checked:
                    return VerifyResult(False, checked, row.id, f"differs from the anchor of {mark.at} "
                                        f"({mark.count} entries, head {mark.head[:12]}): the chain was rewritten "
                                        "up to here", "edited")
    if pending:
        last = pending[-1]
        return VerifyResult(False, checked, last.last_id, f"is missing: the anchor of {last.at} recorded "
                            f"{last.count} entries up to entry {last.last_id}, the chain ends after {checked} "
                            f"at entry {last_id}; the newest entries were removed", "truncated", len(anchors))
    return VerifyResult(True, checked, anchors=len(anchors), warnings=warnings)


def rekey() -> tuple[int, Path]:
    """Rotate the audit key: verify under the old key, re-sign every entry under a new one, and
    anchor the head under it. Anchors written before keep their old key id; their counts and
    heads are still checked, their MACs no longer can be."""
    if os.environ.get("YINGJI_AUDIT_KEY"):
        raise AuditKeyError("the key comes from YINGJI_AUDIT_KEY; rotate it by moving it into the data "
                            "directory's audit_key file, unsetting the variable, and running rekey again")
    result = verify()
    if not result.ok:
        raise AuditKeyError(f"the chain does not verify ({result.kind} at entry {result.bad_id}); a new key "
                            "would hide that")
    path = Path(settings.DATA_DIR) / "audit_key"
    old_kid = key_id()
    new_key = secrets.token_hex(32)
    staged = path.with_name("audit_key.new")
    staged.unlink(missing_ok=True)
    _write_key_file(staged, new_key)
    count = 0
    with writing():
        for pk, digest in AuditEntry.objects.order_by("id").values_list("id", "hash").iterator():
            AuditEntry.objects.filter(pk=pk).update(mac=entry_mac(digest, new_key.encode()))
            count += 1
    # Only once the new MACs are committed does the new key take the old one's place.
    os.replace(path, path.with_name("audit_key.old"))
    os.replace(staged, path)
    audit_key.cache_clear()
    with writing():
        append("cli", "audit.rekeyed", "system", None, {"entries": count, "kid": key_id(), "previous": old_kid})
    write_anchor(force=True, previous=old_kid)  # vouches for the anchors made under the old key
    return count, path


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

