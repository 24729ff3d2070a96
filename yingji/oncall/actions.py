"""Changes to who is on duty. Like every action: permission, the change, the audit entry, one transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime

from django.utils.translation import gettext as _

from yingji.accounts.models import User
from yingji.accounts.roles import allowed
from yingji.core import audit, clock
from yingji.core.actors import Actor, actor_name
from yingji.core.apischema import year_problem
from yingji.core.errors import BadInput, Forbidden
from yingji.plans.schema import Plan, Roster

from .models import CalendarFeed, RosterOverride
from .rosters import shift_on


def _check(actor: Actor, plan: Plan, roster: Roster, people: list[str]) -> None:
    if not allowed(actor, "roster_edit"):
        raise Forbidden(_("Your role may not change rosters."), action="roster_edit")
    for code in people:
        if plan.person(code) is None:
            raise BadInput("person", _("Unknown person %(code)s.") % {"code": code})


def override(actor: Actor, plan: Plan, roster: Roster, person: str, starts_at: datetime, ends_at: datetime,
             reason: str = "") -> RosterOverride:
    """`person` is on duty from `starts_at` to `ends_at`, whatever the rotation says."""
    _check(actor, plan, roster, [person])
    for field, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if problem := year_problem(moment):  # year 1 or 9999 overflows on the way to UTC
            raise BadInput(field, problem)
    if ends_at <= starts_at:
        raise BadInput("ends_at", _("The end must be after the start."))
    with audit.writing():
        # The newest override wins where two cover the same time: say so on the chain (and the page
        # says it to the office) rather than shadow the older one in silence.
        overlaps = list(RosterOverride.objects.filter(roster=roster.code, starts_at__lt=ends_at,
                                                      ends_at__gt=starts_at).order_by("starts_at"))
        row = RosterOverride.objects.create(roster=roster.code, person=person, starts_at=starts_at, ends_at=ends_at,
                                            reason=reason[:300], created_by=actor_name(actor), created_at=clock.now())
        audit.append(actor_name(actor), "roster.override", "roster", row.pk, {
            "roster": roster.code, "person": person, "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "reason": reason[:300], "overrides": [o.pk for o in overlaps]})
    row.overlaps = overlaps  # type: ignore[attr-defined]
    return row


def swap(actor: Actor, plan: Plan, roster: Roster, first: date, second: date, reason: str = "") -> list[RosterOverride]:
    """The people on duty on two days trade shifts (two overrides, one audit entry)."""
    a, b = shift_on(plan, roster, first), shift_on(plan, roster, second)
    _check(actor, plan, roster, [a.person, b.person])
    if a.starts_at == b.starts_at:
        raise BadInput("second", _("Pick two different shifts."))
    with audit.writing():
        now, who = clock.now(), actor_name(actor)
        rows = [RosterOverride.objects.create(roster=roster.code, person=person, starts_at=shift.starts_at,
                                              ends_at=shift.ends_at, kind=RosterOverride.Kind.SWAP,
                                              reason=reason[:300], created_by=who, created_at=now)
                for person, shift in ((b.person, a), (a.person, b))]
        audit.append(who, "roster.swap", "roster", rows[0].pk, {
            "roster": roster.code, "first": [first.isoformat(), a.person], "second": [second.isoformat(), b.person],
            "reason": reason[:300]})
    return rows


def _feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(actor: Actor, plan: Plan, kind: str, code: str) -> tuple[CalendarFeed, str]:
    """A new secret calendar address; the token is shown once and kept only as its hash."""
    if not isinstance(actor, User):
        raise Forbidden(_("Sign in to make a calendar link."), action="calendar_feed")
    if kind == CalendarFeed.Kind.ROSTER:
        if plan.roster(code) is None:
            raise BadInput("code", _("Unknown roster %(code)s.") % {"code": code})
    elif kind == CalendarFeed.Kind.PERSON:
        if plan.person(code) is None:
            raise BadInput("code", _("Unknown person %(code)s.") % {"code": code})
        if code != actor.person and not allowed(actor, "roster_edit"):
            raise Forbidden(_("You may make a calendar link only for your own shifts."), action="calendar_feed")
    else:
        raise BadInput("kind", _("A calendar is of a roster or of a person."))
    token = secrets.token_urlsafe(24)
    with audit.writing():
        feed = CalendarFeed.objects.create(kind=kind, code=code, token_hash=_feed_hash(token),
                                           created_by=actor_name(actor), created_at=clock.now())
        audit.append(actor_name(actor), "calendar_feed.created", "calendar_feed", feed.pk, {"kind": kind, "code": code})
    return feed, token


def revoke_feed(actor: Actor, feed: CalendarFeed) -> CalendarFeed:
    if actor_name(actor) != feed.created_by and not allowed(actor, "roster_edit"):
        raise Forbidden(_("Only whoever made this calendar link, or the office, may revoke it."),
                        action="calendar_feed")
    with audit.writing():
        feed = CalendarFeed.objects.get(pk=feed.pk)
        if feed.revoked_at is None:
            feed.revoked_at, feed.revoked_by = clock.now(), actor_name(actor)
            feed.save(update_fields=["revoked_at", "revoked_by"])
            audit.append(actor_name(actor), "calendar_feed.revoked", "calendar_feed", feed.pk,
                         {"kind": feed.kind, "code": feed.code})
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(token_hash=_feed_hash(token), revoked_at__isnull=True).first()
