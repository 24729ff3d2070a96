"""A claimed batch fires in one transaction; one failing handler must not take the others down."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from yingji.core import clock
from yingji.core.models import AuditEntry
from yingji.timers import service
from yingji.timers.models import Timer


def test_a_failing_handler_stays_pending_with_its_error_and_the_rest_of_the_batch_fires(
        db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(timer: Timer) -> None:
        raise RuntimeError("gateway down")

    monkeypatch.setitem(service.HANDLERS, "explode", explode)
    due = clock.now() - timedelta(seconds=1)
    for i in range(5):
        service.schedule("probe", f"batch:{i}", due)
    service.schedule("explode", "batch:bad", due)
    assert service.run_due() == 5
    assert Timer.objects.filter(kind="probe", state="fired").count() == 5
    bad = Timer.objects.get(key="batch:bad")
    assert bad.state == "pending" and "gateway down" in bad.last_error
    assert AuditEntry.objects.filter(action="timer.probe").count() == 5  # each probe once, none rolled back twice
