"""The published plan, parsed once per version and process.

Versions are immutable, so the parsed Plan can be cached by version id forever; only "which
version is published" is asked of the database on each use.
"""

from __future__ import annotations

import time
from functools import lru_cache

from .models import PlanVersion
from .schema import Plan


@lru_cache(maxsize=32)
def plan_of(version_id: int) -> Plan:
    data = PlanVersion.objects.values_list("data", flat=True).get(pk=version_id)
    return Plan.model_validate(data)


PUBLISHED_CACHE_S = 2.0
_published: tuple[float, int | None] = (-PUBLISHED_CACHE_S, None)


def published_version_id() -> int | None:
    """Asked on every report, so remembered for a moment; a newly published plan is used by
    every process within PUBLISHED_CACHE_S (publish() itself forgets at once)."""
    global _published
    if time.monotonic() - _published[0] >= PUBLISHED_CACHE_S:
        found = (PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED)
                 .order_by("-number").values_list("id", flat=True).first())
        _published = (time.monotonic(), found)
    return _published[1]


def forget_published() -> None:
    global _published
    _published = (-PUBLISHED_CACHE_S, None)


def published() -> tuple[int, Plan] | None:
    version_id = published_version_id()
    if version_id is None:
        return None
    return version_id, plan_of(version_id)
