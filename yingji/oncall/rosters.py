"""Who is on duty: rotations in local wall-clock time, with overrides on top.

A shift starts at the roster's handover time on the local calendar, so across a DST change the
handover stays at 08:00 on the wall clock and that one shift is 23 or 25 hours long. All
arithmetic on days happens on local dates; instants are converted only at the edges.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from yingji.plans.schema import Plan, Roster

from .models import RosterOverride


@dataclass(frozen=True)
class Duty:
    person: str
    starts_at: datetime
    ends_at: datetime
    override: RosterOverride | None = None


def zone_of(plan: Plan, roster: Roster) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(roster.timezone or plan.hospital.timezone)


def _days_per_shift(roster: Roster) -> int:
    return 7 if roster.rotation == "weekly" else 1


def shift_index(plan: Plan, roster: Roster, at: datetime) -> int:
    local = at.astimezone(zone_of(plan, roster))
    days = (local.date() - roster.start).days - (1 if local.time() < roster.handover else 0)
    return days // _days_per_shift(roster)


def shift_start(plan: Plan, roster: Roster, index: int) -> datetime:
    """In UTC: Python subtracts and compares two datetimes of the same zone on the wall clock,
    which would make the DST night's shift 24 h long instead of 23 or 25."""
    day = roster.start + timedelta(days=index * _days_per_shift(roster))
    return datetime.combine(day, roster.handover, tzinfo=zone_of(plan, roster)).astimezone(UTC)


def rotation_duty(plan: Plan, roster: Roster, at: datetime) -> Duty:
    index = shift_index(plan, roster, at)
    return Duty(roster.members[index % len(roster.members)], shift_start(plan, roster, index),
                shift_start(plan, roster, index + 1))


def shift_on(plan: Plan, roster: Roster, day: date) -> Duty:
    """The shift that starts on this local day (daily) or covers it (weekly)."""
    just_after = datetime.combine(day, roster.handover, tzinfo=zone_of(plan, roster)).astimezone(UTC)
    return rotation_duty(plan, roster, just_after + timedelta(minutes=1))


def overrides_for(roster: Roster, start: datetime, end: datetime) -> list[RosterOverride]:
    return list(RosterOverride.objects.filter(roster=roster.code, starts_at__lt=end, ends_at__gt=start)
                .order_by("created_at", "id"))


def duty_at(plan: Plan, roster: Roster, at: datetime,
            overrides: Iterable[RosterOverride] | None = None) -> Duty:
    """Who is on duty at `at`: the newest override covering it, else the rotation."""
    rows = overrides_for(roster, at, at + timedelta(microseconds=1)) if overrides is None else overrides
    covering = [o for o in rows if o.starts_at <= at < o.ends_at]
    if covering:
        last = covering[-1]
        return Duty(last.person, last.starts_at, last.ends_at, last)
    return rotation_duty(plan, roster, at)


def timeline(plan: Plan, roster: Roster, start: datetime, end: datetime) -> list[Duty]:
    """Who is on duty from `start` to `end`, as consecutive spans (for the roster page and iCal)."""
    overrides = overrides_for(roster, start, end)
    edges = {start, end}
    index = shift_index(plan, roster, start) + 1
    while (edge := shift_start(plan, roster, index)) < end:
        edges.add(edge)
        index += 1
    edges |= {t for o in overrides for t in (o.starts_at, o.ends_at) if start < t < end}
    ordered = sorted(edges)
    spans: list[Duty] = []
    for left, right in itertools.pairwise(ordered):
        duty = duty_at(plan, roster, left, overrides)
        if spans and spans[-1].person == duty.person and spans[-1].override == duty.override:
            spans[-1] = Duty(duty.person, spans[-1].starts_at, right, duty.override)
        else:
            spans.append(Duty(duty.person, left, right, duty.override))
    return spans
