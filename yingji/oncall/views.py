"""Roster pages and iCal feeds. The feeds need no login: a phone calendar subscribes to a secret URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.errors import ActionError
from yingji.plans.store import published

from . import actions, ical
from .api import current_roster
from .checks import warnings
from .models import CalendarFeed, RosterOverride
from .rosters import duty_at, timeline, zone_of


def _ics(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


def calendar_ics(request: HttpRequest, token: str) -> HttpResponse:
    """A phone calendar's subscription: the secret token is the only key, until it is revoked."""
    feed = actions.feed_for_token(token)
    current = published()
    if feed is None or current is None:
        raise Http404("no such calendar")
    plan = current[1]
    if feed.kind == CalendarFeed.Kind.ROSTER:
        roster = plan.roster(feed.code)
        if roster is None:
            raise Http404("no such calendar")
        return _ics(ical.calendar(plan, roster.name, [(roster, d) for d in ical.spans(plan, roster)]), roster.code)
    person = plan.person(feed.code)
    if person is None:
        raise Http404("no such calendar")
    events = [(r, d) for r in plan.rosters if feed.code in r.members or RosterOverride.objects.filter(
        roster=r.code, person=feed.code).exists() for d in ical.spans(plan, r, feed.code)]
    return _ics(ical.calendar(plan, person.name, events), feed.code)


def old_calendar(request: HttpRequest, code: str) -> HttpResponse:
    """Feeds by roster or person code alone are gone: anyone could read them off the plan."""
    return HttpResponse(_("This calendar address no longer works. Sign in to Yingji, open On duty and make a "
                          "new calendar link."), status=410, content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def calendar_create(request: HttpRequest) -> HttpResponse:
    current = published()
    if current is not None:
        try:
            _feed, token = actions.create_feed(request.user, current[1], request.POST.get("kind", ""),  # type: ignore[arg-type]
                                               request.POST.get("code", ""))
        except ActionError as exc:
            messages.error(request, exc.message)
        else:
            request.session["yingji.new_calendar"] = request.build_absolute_uri(
                reverse("calendar_ics", args=[token]))
    return redirect("rosters")


@login_required
@require_POST
def calendar_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    try:
        actions.revoke_feed(request.user, get_object_or_404(CalendarFeed, pk=feed_id))  # type: ignore[arg-type]
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("rosters")


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
                        # Named only when it is not the hospital's own: a zone is an IANA code.
                        "zone": roster.timezone if roster.timezone not in (None, plan.hospital.timezone) else "",
                        "overrides": RosterOverride.objects.filter(roster=roster.code, ends_at__gt=now)})
    feeds = CalendarFeed.objects.filter(revoked_at__isnull=True)
    if not allowed(user, "roster_edit"):
        feeds = feeds.filter(created_by=user.username)
    return render(request, "web/rosters.html", {
        "rosters": rosters, "plan": plan, "warnings": warnings(plan, now),
        "may_edit": allowed(user, "roster_edit"), "people": plan.people,
        "feeds": [{"feed": f, "name": _feed_name(plan, f)} for f in feeds[:100]],
        "new_calendar": request.session.pop("yingji.new_calendar", None),
        "own_person": user.person if plan.person(user.person or "") else ""})


def _feed_name(plan: Any, feed: CalendarFeed) -> str:
    found = plan.roster(feed.code) if feed.kind == CalendarFeed.Kind.ROSTER else plan.person(feed.code)
    return found.name if found else feed.code


@login_required
def roster_override(request: HttpRequest, code: str) -> HttpResponse:
    if request.method != "POST":
        return redirect("rosters")
    plan, roster = current_roster(code)
    try:
        starts, ends = (parse_datetime(request.POST.get(f, "")) for f in ("starts_at", "ends_at"))
    except ValueError:  # well formed but no such day, like 2026-02-30
        starts = ends = None
    if starts is None or ends is None:
        messages.error(request, _("Give a start and an end."))
        return redirect("rosters")
    zone = zone_of(plan, roster)  # the form's times are local wall-clock times of the roster
    try:
        row = actions.override(request.user, plan, roster, request.POST.get("person", ""),  # type: ignore[arg-type]
                               starts.replace(tzinfo=zone) if starts.tzinfo is None else starts,
                               ends.replace(tzinfo=zone) if ends.tzinfo is None else ends,
                               request.POST.get("reason", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect("rosters")
    for older in row.overlaps:  # type: ignore[attr-defined]
        person = plan.person(older.person)
        messages.warning(request, _("This replaces, where they overlap, %(name)s on duty from %(start)s to %(end)s.")
                         % {"name": person.name if person else older.person,
                            "start": f"{older.starts_at.astimezone(zone):%m-%d %H:%M}",
                            "end": f"{older.ends_at.astimezone(zone):%m-%d %H:%M}"})
    return redirect("rosters")
