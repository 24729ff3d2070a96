"""Scheduling, cancelling and firing timers.

Actions call `schedule`/`settle` inside their own transaction, so a timer exists exactly when the
state change that needs it committed. The worker calls `run_due`, which claims rows by
compare-and-set and fires each claimed batch in one transaction: a crash between claim and commit
leaves the rows pending, and they are claimed again once their lease has passed.
"""

from __future__ import annotations

import logging
import operator
import os
import socket
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from yingji.core import audit, clock

from .models import Leased, Timer, WorkerHeartbeat

log = logging.getLogger("yingji.timers")
Handler = Callable[[Timer], None]
HANDLERS: dict[str, Handler] = {}


# Work other domains give the worker each turn (the alert intake), registered at import time like
# the handlers; each returns how much it did, so the loop knows whether to sleep.
STEPS: list[Callable[[], int]] = []


def step(fn: Callable[[], int]) -> Callable[[], int]:
    STEPS.append(fn)
    return fn


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def schedule(kind: str, key: str, due_at: datetime, incident_id: int | None = None,
             payload: dict | None = None, once: bool = False) -> Timer:
    """Create the pending timer for `key`, or move the one already pending (idempotent).

    With `once`, a key that ever had a timer is left alone: a deadline that was met, breached or
    cancelled is not started again when the self-audit re-drives an incident's clocks.
    """
    if once and (earlier := Timer.objects.filter(key=key).order_by("-id").first()):
        return earlier
    existing = Timer.objects.filter(key=key, state=Timer.State.PENDING).first()
    if existing:
        if existing.due_at != due_at or (payload is not None and existing.payload != payload):
            existing.due_at = due_at
            existing.payload = payload if payload is not None else existing.payload
            existing.token += 1  # fence off a worker that claimed the old due time
            existing.claimed_until = None
            existing.save(update_fields=["due_at", "payload", "token", "claimed_until"])
        return existing
    return Timer.objects.create(kind=kind, key=key, due_at=due_at, incident_id=incident_id,
                                payload=payload or {}, created_at=clock.now())


def _finish(timers: QuerySet[Timer], state: str, by: str) -> int:
    """Settle pending timers; the new token fences off a worker that claimed one of them."""
    return timers.filter(state=Timer.State.PENDING).update(
        state=state, finished_at=clock.now(), finished_by=by, token=F("token") + 1)


def settle(key: str, state: str = Timer.State.MET, by: str = "") -> int:
    """What the timer waited for happened (met) or no longer matters (cancelled)."""
    return _finish(Timer.objects.filter(key=key), state, by)


def lease() -> timedelta:
    return timedelta(seconds=settings.YINGJI_LEASE_S)


def claim(model: type[Leased], pending: str, now: datetime, limit: int) -> list[tuple[int, int]]:
    """Claim due rows of a timer-like table (Timer, Delivery) by compare-and-set on `token`.

    Returns (id, new token) pairs; only the holder of the new token may finish the row. Rows
    whose claim has expired (their worker died) are claimed again.
    """
    rows: QuerySet[Any] = model._default_manager.all()  # each subclass has its own `state` choices
    due = (rows.filter(state=pending, due_at__lte=now)
           .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
           .order_by("due_at"))
    # On PostgreSQL row locks are enough, so claiming does not queue behind the audit lock that
    # another worker holds while it fires; SQLite has one writer anyway.
    with audit.writing() if connection.vendor == "sqlite" else transaction.atomic():
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        # The rows are locked (PostgreSQL) or every writer waits for us (SQLite), so one UPDATE
        # moves all their tokens on: a whole batch is claimed in two statements.
        picked = list(due.values_list("id", "token")[:limit])
        rows.filter(pk__in=[row_id for row_id, _ in picked]).update(
            token=F("token") + 1, claimed_until=now + lease(), attempts=F("attempts") + 1)
    return [(row_id, token + 1) for row_id, token in picked]


def settle_incident(incident_id: int, kinds: tuple[str, ...], state: str = Timer.State.MET, by: str = "") -> int:
    """Settle every pending timer of these kinds on one incident (all steps of a chain at once)."""
    return _finish(Timer.objects.filter(incident_id=incident_id, kind__in=kinds), state, by)


def _fire(claimed: list[tuple[int, int]]) -> int:
    """Fire a claimed batch in one transaction: one commit and one audit-lock wait per batch, not
    per timer, which is what lets the worker keep up on PostgreSQL. If any handler fails, the batch
    is rolled back and fired again with a savepoint per timer, so only the failing one is left
    pending, with its error on the row."""
    try:
        with audit.writing():
            return _fire_batch(claimed, isolate=False)
    except Exception:
        log.warning("a timer in a batch of %d failed; firing them one by one", len(claimed))
    with audit.writing():
        return _fire_batch(claimed, isolate=True)


def _fire_batch(claimed: list[tuple[int, int]], isolate: bool) -> int:
    rows = Timer.objects.filter(id__in=[timer_id for timer_id, _ in claimed], state=Timer.State.PENDING)
    if connection.vendor == "postgresql":
        rows = rows.select_for_update()  # a concurrent settle waits until this batch commits
    current = {timer.pk: timer for timer in rows}
    fired: list[Q] = []
    for timer_id, token in claimed:
        timer = current.get(timer_id)
        if timer is None or timer.token != token:  # settled or moved since we claimed it
            continue
        try:
            with transaction.atomic() if isolate else nullcontext():
                action = HANDLERS.get(timer.kind)
                if action is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                action(timer)
            fired.append(Q(id=timer_id, token=token))
        except Exception as exc:
            if not isolate:
                raise
            log.exception("timer %s failed", timer_id)
            Timer.objects.filter(id=timer_id, token=token).update(last_error=repr(exc)[:2000])
    if fired:
        # By token: a handler that re-scheduled its own key (regrade) moved the token on, and that
        # new deadline must stay pending.
        Timer.objects.filter(reduce(operator.or_, fired)).update(
            state=Timer.State.FIRED, finished_at=clock.now(), finished_by="worker")
    return len(fired)


def run_due(limit: int = 100) -> int:
    """Fire what is due; return how many fired. Errors stay on the row and retry after the lease."""
    claimed = claim(Timer, Timer.State.PENDING, clock.now(), limit)
    if not claimed:
        return 0
    if settings.YINGJI_FAULT_PAUSE_AFTER_CLAIM_S:
        # Fault injection for the crash test: a window to kill -9 between claim and commit.
        time.sleep(settings.YINGJI_FAULT_PAUSE_AFTER_CLAIM_S)
    return _fire(claimed)


def beat(name: str | None = None) -> None:
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": clock.now(), "pid": os.getpid()})


def worker_alive(within: timedelta = timedelta(seconds=30)) -> bool:
    return WorkerHeartbeat.objects.filter(beat_at__gte=clock.now() - within).exists()


AUDITORS: list[Callable[[], int]] = []


def auditor(fn: Callable[[], int]) -> Callable[[], int]:
    """Register a self-audit check: it re-drives what should be scheduled and returns how many it fixed."""
    AUDITORS.append(fn)
    return fn


def self_audit() -> int:
    """Run every registered check; anything it had to re-drive is logged, because it should not happen."""
    fixed = 0
    for check in AUDITORS:
        with audit.writing():
            count = check()
            if count:
                audit.append("worker", "self_audit.redriven", "system", None,
                             {"check": check.__name__, "count": count})
        if count:
            log.warning("self-audit: %s re-drove %d item(s)", check.__name__, count)
        fixed += count
    overdue = Timer.objects.filter(state=Timer.State.PENDING, due_at__lt=clock.now() - 2 * lease()).count()
    if overdue:
        log.warning("self-audit: %d timer(s) overdue by more than two leases", overdue)
    return fixed


@handler("probe")
def _probe(timer: Timer) -> None:
    """A no-op deadline: its audit entry is the evidence that it fired, and how late."""
    late_ms = (clock.now() - timer.due_at).total_seconds() * 1000
    audit.append("worker", "timer.probe", "timer", timer.pk, {"late_ms": round(late_ms, 1)})


def schedule_probes(count: int, within_s: float, start_in_s: float = 2.0) -> int:
    start = clock.now() + timedelta(seconds=start_in_s)
    step = within_s / max(1, count)
    with audit.writing():
        Timer.objects.bulk_create(
            Timer(kind="probe", key=f"probe:{start.timestamp()}:{i}", due_at=start + timedelta(seconds=i * step),
                  created_at=clock.now()) for i in range(count))
    return count
