"""Roster pages and iCal feeds. The feeds need no login: a phone calendar subscribes to a URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.errors import ActionError
from yingji.plans.store import published

from . import actions, ical
from .api import current_roster
from .checks import warnings
from .models import RosterOverride
from .rosters import duty_at, timeline, zone_of


def _ics(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


def roster_ics(request: HttpRequest, code: str) -> HttpResponse:
    plan, roster = current_roster(code)
    return _ics(ical.calendar(plan, roster.name, [(roster, d) for d in ical.spans(plan, roster)]), roster.code)


def person_ics(request: HttpRequest, code: str) -> HttpResponse:
    current = published()
    person = current[1].person(code) if current else None
    if current is None or person is None:
        raise Http404(code)
    plan = current[1]
    events = [(r, d) for r in plan.rosters if code in r.members or RosterOverride.objects.filter(
        roster=r.code, person=code).exists() for d in ical.spans(plan, r, code)]
    return _ics(ical.calendar(plan, person.name, events), code)


@login_required
def roster_list(request: HttpRequest) -> HttpResponse:
    current = published()
    if current is None:
        return render(request, "web/rosters.html", {"rosters": [], "warnings": []})
    plan, now = current[1], clock.now()
    user: Any = request.user
    rosters = []
    for roster in plan.rosters:
        spans = timeline(plan, roster, now, now + timedelta(days=14))
        rosters.append({"roster": roster, "now": duty_at(plan, roster, now), "spans": spans,
                        "zone": roster.timezone or plan.hospital.timezone,
                        "overrides": RosterOverride.objects.filter(roster=roster.code, ends_at__gt=now)})
    return render(request, "web/rosters.html", {
        "rosters": rosters, "plan": plan, "warnings": warnings(plan, now),
        "may_edit": allowed(user, "roster_edit"), "people": plan.people})


@login_required
def roster_override(request: HttpRequest, code: str) -> HttpResponse:
    if request.method != "POST":
        return redirect("rosters")
    plan, roster = current_roster(code)
    starts, ends = (parse_datetime(request.POST.get(f, "")) for f in ("starts_at", "ends_at"))
    if starts is None or ends is None:
        messages.error(request, _("Give a start and an end."))
        return redirect("rosters")
    zone = zone_of(plan, roster)  # the form's times are local wall-clock times of the roster
    try:
        actions.override(request.user, plan, roster, request.POST.get("person", ""),  # type: ignore[arg-type]
                         starts.replace(tzinfo=zone) if starts.tzinfo is None else starts,
                         ends.replace(tzinfo=zone) if ends.tzinfo is None else ends, request.POST.get("reason", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("rosters")
