"""Changes to who is on duty. Like every action: permission, the change, the audit entry, one transaction."""

from __future__ import annotations

from datetime import date, datetime

from django.utils.translation import gettext as _

from yingji.accounts.roles import allowed
from yingji.core import audit, clock
from yingji.core.actors import Actor, actor_name
from yingji.core.errors import BadInput, Forbidden
from yingji.plans.schema import Plan, Roster

from .models import RosterOverride
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
    if ends_at <= starts_at:
        raise BadInput("ends_at", _("The end must be after the start."))
    with audit.writing():
        row = RosterOverride.objects.create(roster=roster.code, person=person, starts_at=starts_at, ends_at=ends_at,
                                            reason=reason[:300], created_by=actor_name(actor), created_at=clock.now())
        audit.append(actor_name(actor), "roster.override", "roster", row.pk, {
            "roster": roster.code, "person": person, "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "reason": reason[:300]})
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
