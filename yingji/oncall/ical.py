"""iCalendar (RFC 5545) export of duty spans, so staff see their shifts in their phone's calendar.

Times are written in UTC ("...Z"): every calendar converts them to the viewer's zone, and no
VTIMEZONE block has to be kept in step with the tz database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yingji.core import clock
from yingji.plans.schema import Plan, Roster

from .rosters import Duty, overrides_for, shift_index, shift_start, timeline

WINDOW_BEFORE = timedelta(days=14)
WINDOW_AFTER = timedelta(days=60)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " "
        current += char
    return [*out, current]


def spans(plan: Plan, roster: Roster, person: str | None = None) -> list[Duty]:
    """The duty spans around now, whole: the window starts and ends on shift boundaries (and
    takes in an override that straddles them), so the first and last shifts are not clipped and
    every event keeps its UID, which holds its start, from one fetch to the next."""
    now = clock.now()
    start = shift_start(plan, roster, shift_index(plan, roster, now - WINDOW_BEFORE))
    end = shift_start(plan, roster, shift_index(plan, roster, now + WINDOW_AFTER) + 1)
    straddling = overrides_for(roster, start, end)
    start = min([start, *(o.starts_at for o in straddling)])
    end = max([end, *(o.ends_at for o in straddling)])
    rows = timeline(plan, roster, start, end)
    return [d for d in rows if person is None or d.person == person]


def calendar(plan: Plan, name: str, events: list[tuple[Roster, Duty]]) -> str:
    now = _stamp(clock.now())
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Yingji//oncall//EN", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_text(name)}"]
    for roster, duty in events:
        person = plan.person(duty.person)
        who = person.name if person else duty.person
        lines += ["BEGIN:VEVENT", f"UID:{roster.code}-{duty.person}-{_stamp(duty.starts_at)}@yingji",
                  f"DTSTAMP:{now}", f"DTSTART:{_stamp(duty.starts_at)}", f"DTEND:{_stamp(duty.ends_at)}",
                  f"SUMMARY:{_text(f'{roster.name}: {who}')}", "END:VEVENT"]  # no phone numbers
    lines.append("END:VCALENDAR")
    return "\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n"
