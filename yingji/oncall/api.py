"""/api/v1/rosters: who is on duty, overrides and swaps."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.apischema import Day, Input, Text, When, responses
from yingji.core.errors import NotFound
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
        raise NotFound("code", _("No roster %(code)r in the published plan.") % {"code": code})
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


class PersonOut(Schema):
    code: str
    name: str
    mobile: str | None


class DutyOut(Schema):
    roster: str
    name: str
    group: str
    timezone: str
    person: PersonOut
    starts_at: str
    ends_at: str
    override: bool


class RostersOut(Schema):
    rosters: list[DutyOut]
    warnings: list[str]


@router.get("/rosters", response=responses(200, RostersOut),
            summary="Every roster with who is on duty now, and warnings")
def list_rosters(request: HttpRequest) -> dict[str, Any]:
    current = published()
    if current is None:
        return {"rosters": [], "warnings": []}
    plan, now = current[1], clock.now()
    contacts = allowed(request.user, "see_contacts")  # type: ignore[arg-type]
    return {"rosters": [duty_json(plan, r, duty_at(plan, r, now), contacts) for r in plan.rosters],
            "warnings": warnings(plan, now)}


@router.get("/rosters/{code}/oncall", response=responses(200, DutyOut, errors=(404,)),
            summary="Who is on duty now (or at ?at=ISO time)")
def oncall(request: HttpRequest, code: Text,
           at: Annotated[When | None, Field(description="ISO 8601; without an offset, the hospital's local time")]
           = None) -> dict[str, Any]:
    plan, roster = current_roster(code)
    return duty_json(plan, roster, duty_at(plan, roster, at or clock.now()),
                     allowed(request.user, "see_contacts"))  # type: ignore[arg-type]


class OverrideIn(Input):
    person: Text = Field(max_length=40, description="person code from the plan")
    starts_at: When
    ends_at: When
    reason: Text = Field(default="", max_length=300)


class OverrideOut(Schema):
    id: int | None = None
    person: str
    starts_at: str
    ends_at: str


ROSTER_EDIT = (400, 403, 404, 413)


@router.post("/rosters/{code}/overrides", response=responses(201, OverrideOut, errors=ROSTER_EDIT),
             summary="Someone else is on duty")
def add_override(request: HttpRequest, code: Text, payload: OverrideIn) -> Status[dict[str, Any]]:
    plan, roster = current_roster(code)
    row = actions.override(request.user, plan, roster, payload.person,  # type: ignore[arg-type]
                           payload.starts_at, payload.ends_at, payload.reason)
    return Status(201, {"id": row.pk, "person": row.person, "starts_at": row.starts_at.isoformat(),
                 "ends_at": row.ends_at.isoformat()})


class SwapIn(Input):
    first: Day
    second: Day
    reason: Text = Field(default="", max_length=300)


class SwapOut(Schema):
    overrides: list[OverrideOut]


@router.post("/rosters/{code}/swap", response=responses(201, SwapOut, errors=ROSTER_EDIT),
             summary="Two shifts trade people")
def swap(request: HttpRequest, code: Text, payload: SwapIn) -> Status[dict[str, Any]]:
    plan, roster = current_roster(code)
    rows = actions.swap(request.user, plan, roster, payload.first, payload.second,  # type: ignore[arg-type]
                        payload.reason)
    return Status(201, {"overrides": [{"person": r.person, "starts_at": r.starts_at.isoformat(),
                                       "ends_at": r.ends_at.isoformat()} for r in rows]})
