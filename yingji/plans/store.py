"""The published plan, parsed once per version and process.

Versions are immutable, so the parsed Plan can be cached by version id forever; only "which
version is published" is asked of the database on each use.
"""

from __future__ import annotations

from functools import lru_cache

from .models import PlanVersion
from .schema import Plan


@lru_cache(maxsize=32)
def _parse(version_id: int) -> Plan:
    data = PlanVersion.objects.values_list("data", flat=True).get(pk=version_id)
    return Plan.model_validate(data)


def plan_of(version_id: int) -> Plan:
    return _parse(version_id)


def published_version_id() -> int | None:
    return (PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED)
            .order_by("-number").values_list("id", flat=True).first())


def published() -> tuple[int, Plan] | None:
    version_id = published_version_id()
    if version_id is None:
        return None
    return version_id, plan_of(version_id)
