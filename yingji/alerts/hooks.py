"""What the alerts app gives the lower domains: the worker's intake step, the silences' end timer,
the incident page's card, the alerts in an incident's API detail and the silences' API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from yingji.core import clock
from yingji.incidents import api as incident_api
from yingji.plans.store import published
from yingji.timers import service as timers
from yingji.web import cards, words

from . import (
    actions,  # noqa: F401  (importing it registers the silence_end timer's handler)
    intake,
)
from . import api as alert_api
from .models import Alert, Silence

timers.step(intake.process_pending)


def _rows(incident: Any, limit: int | None = None) -> list[Alert]:
    rows = Alert.objects.filter(incident=incident).select_related("integration").order_by("first_seen_at", "id")
    return list(rows[:limit] if limit else rows)


def _listed(incident: Any) -> list[dict[str, Any]]:
    return [{"id": a.pk, "integration": a.integration.name, "status": a.status, "title": a.title,
             "severity": a.severity, "level": a.level, "system": a.system, "labels": a.labels,
             "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat() if a.ends_at else None}
            for a in _rows(incident)]


incident_api.DETAIL_LISTS["alerts"] = _listed
incident_api.api.add_router("/", alert_api.router)

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
             "behind": words.system_name(plan, a.suppressed_by)}
            for a in _rows(incident, SHOWN)]
    return {"template": "alerts/_card.html", "alerts": rows, "total": total, "firing": firing,
            "all_resolved": firing == 0, "more": max(0, total - SHOWN)}


ANNOUNCED_AHEAD = timedelta(days=7)


@cards.board_notice
def maintenance_windows() -> list[dict[str, Any]]:
    """Planned downtime (announced silences) from a week ahead until it ends, on the board."""
    now = clock.now()
    current = published()
    plan = current[1] if current else None
    rows = Silence.objects.filter(announce=True, ended_at__isnull=True, ends_at__gt=now,
                                  starts_at__lte=now + ANNOUNCED_AHEAD)
    notices = []
    for silence in rows:
        start, end = timezone.localtime(silence.starts_at), timezone.localtime(silence.ends_at)
        text = (_("Planned maintenance now, until %(end)s: %(system)s. %(reason)s") if silence.starts_at <= now
                else _("Planned maintenance %(start)s to %(end)s: %(system)s. %(reason)s"))
        notices.append({"id": silence.pk, "text": text % {
            "start": f"{start:%m-%d %H:%M}", "end": f"{end:%m-%d %H:%M}",
            "system": words.system_name(plan, silence.system) or _("several systems"), "reason": silence.reason}})
    return notices
