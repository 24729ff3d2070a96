"""The worker loop (the healthchecks `sendalerts` pattern): beat, fire what is due, sleep.

Nothing here holds state between rounds; everything lives in the timer rows, so a worker can be
killed at any point and another (or the same, restarted) picks up where it stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from yingji.accounts import sessions
from yingji.core import audit, clock

from . import service

log = logging.getLogger("yingji.worker")


class Worker:
    def __init__(self, poll_s: float | None = None, beat_every_s: float = 5.0, audit_every_s: float = 60.0,
                 sweep_every_s: float = 3600.0):
        self.poll_s = settings.YINGJI_WORKER_POLL_S if poll_s is None else poll_s
        self.beat_every_s = beat_every_s
        self.audit_every_s = audit_every_s
        self.sweep_every_s = sweep_every_s
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = False
        self._last: dict[str, float] = {}

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stopping = True

    def run_once(self) -> int:
        from yingji.notify.service import deliver_due

        done = service.run_due() + deliver_due()
        for work in service.STEPS:  # a domain's step fails alone: timers and pages go on
            try:
                done += work()
            except Exception:
                log.exception("worker step %s failed", getattr(work, "__name__", work))
        return done

    def run(self, max_seconds: float | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        started = time.monotonic()
        log.info("worker %s started", self.name)
        while not self.stopping:
            # Each chore fails alone: a full anchor disk or a failing check must never keep the
            # loop from firing timers and sending pages, nor leave the heartbeat saying all is well.
            self._every("beat", self.beat_every_s, lambda: service.beat(self.name))
            self._every("anchor", self.beat_every_s, audit.write_anchor)  # only when enough has happened
            self._every("audit", self.audit_every_s, service.self_audit)
            self._every("sweep", self.sweep_every_s, sessions.clear_expired)
            try:
                fired = self.run_once()
            except Exception:
                # A database hiccup must not kill the loop: log, reconnect, go on.
                log.exception("worker round failed")
                close_old_connections()
                fired = 0
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                break
            if not fired:
                time.sleep(self._sleep_for())
        log.info("worker %s stopped", self.name)

    def _every(self, name: str, interval_s: float, chore: Callable[[], object]) -> None:
        if time.monotonic() - self._last.get(name, -interval_s - 1) < interval_s:
            return
        self._last[name] = time.monotonic()
        try:
            chore()
        except DatabaseError:
            log.exception("worker chore %s failed", name)
            close_old_connections()  # a broken connection is replaced on the next round
        except Exception:
            log.exception("worker chore %s failed", name)

    def _sleep_for(self) -> float:
        """Sleep until the next due timer, but never longer than one poll interval."""
        from yingji.notify.models import Delivery

        from .models import Timer

        next_due = [d for d in (
            Timer.objects.filter(state=Timer.State.PENDING).order_by("due_at").values_list("due_at", flat=True).first(),
            Delivery.objects.filter(state=Delivery.State.QUEUED).order_by("due_at")
            .values_list("due_at", flat=True).first()) if d is not None]
        if not next_due:
            return self.poll_s
        return max(0.0, min(self.poll_s, (min(next_due) - clock.now()).total_seconds()))
