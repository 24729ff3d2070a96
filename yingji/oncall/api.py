"""/api/v1/rosters: who is on duty, overrides and swaps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.plans.schema import Plan, Roster
from yingji.plans.store import published

from . import actions
from .checks import warnings
from .rosters import Duty, duty_at

router = Router(tags=["rosters"])


def current_roster(code: str) -> tuple[Plan, Roster]:
    current = published()
    roster = current[1].roster(code) if current else None
    if current is None or roster is None:
        raise Http404(f"no roster {code!r} in the published plan")
    return current[1], roster


def duty_json(plan: Plan, roster: Roster, duty: Duty, contacts: bool = False) -> dict[str, Any]:
    """Who is on duty; their mobile only for `contacts` (roles that page people)."""
    person = plan.person(duty.person)
    return {"roster": roster.code, "name": roster.name, "group": roster.group,
            "timezone": roster.timezone or plan.hospital.timezone,
            "person": {"code": duty.person, "name": person.name if person else duty.person,
                       "mobile": person.mobile if person and contacts else None},
            "starts_at": duty.starts_at.isoformat(), "ends_at": duty.ends_at.isoformat(),
            "override": duty.override is not None}


@router.get("/rosters", summary="Every roster with who is on duty now, and warnings")
def list_rosters(request: HttpRequest) -> dict[str, Any]:
    current = published()
    if current is None:
        return {"rosters": [], "warnings": []}
    plan, now = current[1], clock.now()
    contacts = allowed(request.user, "see_contacts")  # type: ignore[arg-type]
    return {"rosters": [duty_json(plan, r, duty_at(plan, r, now), contacts) for r in plan.rosters],
            "warnings": warnings(plan, now)}


@router.get("/rosters/{code}/oncall", summary="Who is on duty now (or at ?at=ISO time)")
def oncall(request: HttpRequest, code: str, at: datetime | None = None) -> dict[str, Any]:
    plan, roster = current_roster(code)
    return duty_json(plan, roster, duty_at(plan, roster, at or clock.now()),
                     allowed(request.user, "see_contacts"))  # type: ignore[arg-type]


class OverrideIn(Schema):
    person: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""


@router.post("/rosters/{code}/overrides", response={201: dict[str, Any]}, summary="Someone else is on duty")
def add_override(request: HttpRequest, code: str, payload: OverrideIn) -> Status[dict[str, Any]]:
    plan, roster = current_roster(code)
    row = actions.override(request.user, plan, roster, payload.person,  # type: ignore[arg-type]
                           payload.starts_at, payload.ends_at, payload.reason)
    return Status(201, {"id": row.pk, "person": row.person, "starts_at": row.starts_at.isoformat(),
                 "ends_at": row.ends_at.isoformat()})


class SwapIn(Schema):
    first: date
    second: date
    reason: str = ""


@router.post("/rosters/{code}/swap", response={201: dict[str, Any]}, summary="Two shifts trade people")
def swap(request: HttpRequest, code: str, payload: SwapIn) -> Status[dict[str, Any]]:
    plan, roster = current_roster(code)
    rows = actions.swap(request.user, plan, roster, payload.first, payload.second,  # type: ignore[arg-type]
                        payload.reason)
    return Status(201, {"overrides": [{"person": r.person, "starts_at": r.starts_at.isoformat(),
                                       "ends_at": r.ends_at.isoformat()} for r in rows]})
