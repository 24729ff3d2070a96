"""What the alerts app gives the lower domains: the worker's intake step, the incident page's
card and the alerts in an incident's API detail."""

from __future__ import annotations

from typing import Any

from yingji.incidents import api as incident_api
from yingji.timers import service as timers
from yingji.web import cards

from . import intake
from .models import Alert

timers.step(intake.process_pending)


def _rows(incident: Any) -> list[Alert]:
    return list(Alert.objects.filter(incident=incident).select_related("integration").order_by("first_seen_at", "id"))


def _listed(incident: Any) -> list[dict[str, Any]]:
    return [{"id": a.pk, "integration": a.integration.name, "status": a.status, "title": a.title,
             "severity": a.severity, "level": a.level, "system": a.system, "labels": a.labels,
             "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat() if a.ends_at else None}
            for a in _rows(incident)]


incident_api.DETAIL_LISTS["alerts"] = _listed

SHOWN = 50  # a storm lists its first alerts; the count says how many there are


@cards.card
def alerts_card(incident: Any, plan: Any, user: Any) -> dict[str, Any] | None:
    total = Alert.objects.filter(incident=incident).count()
    if not total:
        return None
    firing = Alert.objects.filter(incident=incident, status=Alert.Status.FIRING).count()
    levels = {lv.code: lv.name for lv in plan.monitoring.levels}
    rows = [{"title": a.title, "status": a.get_status_display(), "firing": a.status == Alert.Status.FIRING,
             "level": levels.get(a.level, a.level), "host": a.labels.get("host") or a.labels.get("instance") or "",
             "monitor": a.integration.name, "since": a.starts_at, "ended": a.ends_at,
             "behind": plan.system(a.suppressed_by).name if a.suppressed_by and plan.system(a.suppressed_by)
             else a.suppressed_by}
            for a in _rows(incident)[:SHOWN]]
    return {"template": "alerts/_card.html", "alerts": rows, "total": total, "firing": firing,
            "all_resolved": firing == 0, "more": max(0, total - SHOWN)}
