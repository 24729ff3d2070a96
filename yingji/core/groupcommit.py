"""Group commit: the writes of threads arriving together share one transaction and one fsync.

A fault report (or any small append) costs little to write but a whole synchronous commit to make
durable: on SQLite with `synchronous=FULL` that is an fsync of the WAL for every report. When a
storm of requests arrives together, the first thread becomes the leader and commits the jobs
that queued up behind it in one `audit.writing()` transaction; each job runs in its own savepoint,
so one job's error is its own. The leader then hands the lead to the first thread still waiting,
so no request waits for more than the batch it joined. Uncontended, a job runs at once in its own
transaction, as if there were no batching at all.

This batches the threads of one process (gunicorn's gthread workers). Processes hand the write
lock to each other as every writer does (`audit.writing()`: on SQLite an flock beside the database).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connection, transaction

from . import audit

T = TypeVar("T")
MAX_BATCH = 64  # jobs per transaction: bounds the write lock's hold (about 0.1 ms a report)


class _Job(Generic[T]):
    def __init__(self, work: Callable[[], T]):
        self.work = work
        self.done = threading.Event()
        self.lead = False
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[no-any-return]


class GroupCommit:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Job[Any]] = []
        self._leading = False

    def run(self, work: Callable[[], T]) -> T:
        """Run `work` inside a committed transaction, possibly together with other threads' work;
        return its result (or raise its error) once the transaction is durable."""
        if connection.in_atomic_block:  # inside a caller's transaction (tests, a command): no batching
            with audit.writing():  # still under the write lock, as the batch would be
                return work()
        job: _Job[T] = _Job(work)
        with self._lock:
            self._queue.append(job)
            if not self._leading:
                self._leading = job.lead = True
        if not job.lead:
            job.done.wait()
        if job.lead:  # either first in, or handed the lead by the previous leader
            self._lead()
        return job.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            with audit.writing():
                if len(batch) == 1:  # alone, its fault undoes the whole transaction: no savepoint needed
                    batch[0].result = batch[0].work()
                else:
                    for job in batch:
                        try:
                            with transaction.atomic():
                                job.result = job.work()
                        except Exception as exc:  # this job's own fault: the others still commit
                            job.error = exc
        except Exception as exc:  # the commit failed, or the lone job: nothing in the batch is stored
            for job in batch:
                job.error, job.result = exc, None
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False
            for job in batch:
                job.done.set()


appends = GroupCommit()
