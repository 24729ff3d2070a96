"""Scheduling, cancelling and firing timers.

Actions call `schedule`/`settle` inside their own transaction, so a timer exists exactly when the
state change that needs it committed. The worker calls `run_due`, which claims rows by
compare-and-set and fires each in its own transaction: a crash between claim and commit leaves
the row pending, and it is claimed again once its lease has passed.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F, Q

from yingji.core import audit, clock

from .models import Timer, WorkerHeartbeat

log = logging.getLogger("yingji.timers")
LEASE = timedelta(seconds=30)
Handler = Callable[[Timer], None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def schedule(kind: str, key: str, due_at: datetime, incident_id: int | None = None,
             payload: dict | None = None) -> Timer:
    """Create the pending timer for `key`, or move the one already pending (idempotent)."""
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


def settle(key: str, state: str = Timer.State.MET, by: str = "") -> int:
    """What the timer waited for happened (met) or no longer matters (cancelled)."""
    return Timer.objects.filter(key=key, state=Timer.State.PENDING).update(
        state=state, finished_at=clock.now(), finished_by=by, token=F("token") + 1)


def _claim(now: datetime, limit: int) -> list[tuple[int, int]]:
    due = (Timer.objects.filter(state=Timer.State.PENDING, due_at__lte=now)
           .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
           .order_by("due_at"))
    claimed = []
    with audit.writing():
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        for timer_id, token in due.values_list("id", "token")[:limit]:
            if Timer.objects.filter(id=timer_id, token=token, state=Timer.State.PENDING).update(
                    token=token + 1, claimed_until=now + LEASE, attempts=F("attempts") + 1):
                claimed.append((timer_id, token + 1))
    return claimed


def _fire(timer_id: int, token: int) -> bool:
    with audit.writing():
        rows = Timer.objects.filter(id=timer_id, token=token, state=Timer.State.PENDING)
        if connection.vendor == "postgresql":
            rows = rows.select_for_update()
        timer = rows.first()
        if timer is None:  # settled or moved since we claimed it
            return False
        action = HANDLERS.get(timer.kind)
        if action is None:
            raise LookupError(f"no handler for timer kind {timer.kind!r}")
        action(timer)
        Timer.objects.filter(id=timer_id, token=token).update(
            state=Timer.State.FIRED, finished_at=clock.now(), finished_by="worker")
    return True


def run_due(limit: int = 100) -> int:
    """Fire what is due; return how many fired. Errors stay on the row and retry after the lease."""
    fired = 0
    for timer_id, token in _claim(clock.now(), limit):
        try:
            fired += _fire(timer_id, token)
        except Exception as exc:
            log.exception("timer %s failed", timer_id)
            Timer.objects.filter(id=timer_id, token=token).update(last_error=repr(exc)[:2000])
    return fired


def beat(name: str | None = None) -> None:
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": clock.now(), "pid": os.getpid()})


def worker_alive(within: timedelta = timedelta(seconds=30)) -> bool:
    return WorkerHeartbeat.objects.filter(beat_at__gte=clock.now() - within).exists()
