"""/api/v1/: the same actions as the web UI, for workstations, scripts and integrations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import register_converter
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field, StrictBool

from yingji.accounts.models import ApiToken, User
from yingji.accounts.roles import allowed
from yingji.core.apischema import Count, Id, Input, Offset, Text, found, responses
from yingji.core.errors import ActionError
from yingji.core.models import AuditEntry
from yingji.notify.models import Message
from yingji.oncall.api import router as oncall_router
from yingji.plans.store import published
from yingji.recovery.api import router as recovery_router

from . import actions
from .models import Incident, Report, SystemState

log = logging.getLogger("yingji.api")


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = ApiToken.user_for(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(title="Yingji API", version="1", urls_namespace="api", auth=TokenAuth(),
               openapi_url="/openapi.json", docs_url="/docs")
api.add_router("/", oncall_router)
api.add_router("/", recovery_router)
unknown_actions = Router()  # added last: only what no other route took reaches it


@api.exception_handler(ActionError)
def action_error(request: HttpRequest, exc: ActionError):  # type: ignore[no-untyped-def]
    return api.create_response(request, exc.as_dict(), status=exc.status_code)


def _message(err: dict[str, Any]) -> str:
    """Our own validators' words as written, without pydantic's "Value error, " in front."""
    if err.get("type") == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    return str(err.get("msg", "invalid"))


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError):  # type: ignore[no-untyped-def]
    """Name the field first, so a workstation script can show what to fix."""
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        errors.append({"field": ".".join(loc), "message": _message(err)})
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    return api.create_response(request, {"detail": f"{first['field']}: {first['message']}",
                                         "field": first["field"], "errors": errors}, status=422)


@api.exception_handler(OperationalError)
def database_failed(request: HttpRequest, exc: OperationalError):  # type: ignore[no-untyped-def]
    """The database refused (locked past its timeout, disk full): nothing was stored, so the
    caller is told to send it again rather than handed a bare 500."""
    log.warning("API %s %s: database failed: %s", request.method, request.path, exc)
    return api.create_response(request, {"detail": _("Not stored: the database is busy or failed; send it again."),
                                         "field": ""}, status=503)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError):  # type: ignore[no-untyped-def]
    return api.create_response(request, {"detail": "Authorization: Bearer <token> required; "
                                                   "create one with `yingji token create USER`"}, status=401)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404):  # type: ignore[no-untyped-def]
    """A 404 raised below the routes (a roster the plan lacks) still gets the JSON error body."""
    return api.create_response(request, {"detail": str(exc) or _("Not found."), "field": ""}, status=404)


class ReportIn(Input):
    system: Text = Field(description="system code from the published plan")
    symptom: Text = Field(max_length=500)
    location: Text = Field(default="", max_length=200, description="place or workstation")
    phone: Text = Field(default="", max_length=30)
    reporter_name: Text = Field(default="", max_length=100)
    department: Text = Field("", description="department code from the plan")
    patients_affected: Count = 0
    security_suspected: StrictBool = False
    scope: Literal["", "terminal", "area", "partial", "hospital"] = ""
    fault: Text = Field("", max_length=40, description="what went wrong: a grading.faults code of the plan")
    channel: Literal["api", "phone"] = "api"


class ReportAcceptedOut(Schema):
    report: str = Field(description="the reference number to give the reporter")
    status: Literal["received"]
    status_url: str = Field(description="the reporter's status page, no login needed")
    url: str = Field(description="GET it for the incident the report was merged into")


def _grades(incident: Incident) -> dict[str, str]:
    return incident.grades()


@api.post("/incidents", response=responses(202, ReportAcceptedOut, errors=(400, 403, 413, 503)),
          summary="Report a fault")
def post_report(request: HttpRequest, payload: ReportIn) -> JsonResponse:
    """Stored before the answer; the worker merges it into an incident, grades and pages within
    a second. `GET /reports/{number}` then names the incident."""
    data = payload.model_dump()
    channel = data.pop("channel")
    report = actions.accept_report(request.user, channel=channel, **data)  # type: ignore[arg-type]
    # ReportAcceptedOut exactly, answered as is: the busiest call need not validate its own four strings.
    return JsonResponse({"report": report.number, "status": "received", "status_url": f"/r/{report.access_key}",
                         "url": f"/api/v1/reports/{report.number}"}, status=202)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class TimelineEntryOut(Schema):
    id: int
    at: str
    actor: str
    action: str
    data: dict[str, Any]


class ChecklistItemOut(Schema):
    id: int
    phase: str
    text: str
    done_at: str | None
    done_by: str


class DepartmentTaskOut(Schema):
    department: str
    scenario: str
    name: str
    ack_due_at: str | None
    acknowledged_at: str | None
    items: list[ChecklistItemOut]


class TimerOut(Schema):
    kind: str
    key: str
    due_at: str | None
    state: str
    breached: bool
    finished_at: str | None
    by: str


class ModeOut(Schema):
    department: str
    system: str
    mode: str
    started_at: str | None
    ended_at: str | None


class DeliveryOut(Schema):
    channel: str
    address: str
    state: str
    attempts: int
    sent_at: str | None
    error: str


class NotificationOut(Schema):
    id: int
    kind: str
    person: str
    name: str
    subject: str
    step: int
    created_at: str | None
    needs_ack: bool
    acked_at: str | None
    acked_via: str
    deliveries: list[DeliveryOut]


class AlertOut(Schema):
    """An alert of a monitor that joined the incident."""

    id: int
    integration: str
    status: str = Field(description="firing | resolved")
    title: str
    severity: str = Field(description="as the monitor said it")
    level: str = Field(description="the plan's warning level code (monitoring.levels)")
    system: str
    labels: dict[str, str]
    starts_at: str | None
    ends_at: str | None


# Lists another domain adds to an incident's detail (the alerts app: `alerts`), registered by that
# domain, so that this module imports none of them.
DETAIL_LISTS: dict[str, Callable[[Incident], list[dict[str, Any]]]] = {}


class IncidentOut(Schema):
    id: int
    number: str
    system: str
    title: str
    location: str
    status: str
    plan_active: bool
    activation_level: str | None
    plan_version: int
    scope: str
    cause: str
    fault: str
    security: str
    security_suspected: bool
    patients_affected: int
    systems: list[str]
    grade: dict[str, str]
    grade_overrides: dict[str, Any]
    reports_count: int
    reported_at: str | None
    acknowledged_at: str | None
    on_site_at: str | None
    activated_at: str | None
    restored_at: str | None
    closed_at: str | None
    merged_into: str | None = Field(description="number of the incident this one was merged into")
    allowed: list[str] = Field(description="lifecycle actions the incident's state allows now")
    timeline: list[TimelineEntryOut]
    departments: list[DepartmentTaskOut]
    timers: list[TimerOut]
    modes: list[ModeOut]
    notifications: list[NotificationOut]
    alerts: list[AlertOut] = Field([], description="the monitors' alerts that joined this incident")


# Where a page went and from where it was acknowledged: for the roles that page people only.
PRIVATE_DATA = ("address", "user_agent")


def incident_detail(incident: Incident, user: Any) -> dict[str, Any]:
    contacts = allowed(user, "see_contacts")
    timeline = AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk).order_by("id")
    return {
        **{name: lister(incident) for name, lister in DETAIL_LISTS.items()},
        "id": incident.pk, "number": incident.number, "system": incident.system, "title": incident.title,
        "location": incident.location, "status": incident.status, "plan_active": incident.plan_active,
        "activation_level": incident.activation_level or None,
        "plan_version": incident.plan_version_id, "scope": incident.scope, "cause": incident.cause,
        "fault": incident.fault,
        "security": incident.security, "security_suspected": incident.security_suspected,
        "patients_affected": incident.patients_affected, "systems": incident.systems(),
        "grade": _grades(incident), "grade_overrides": incident.grade_overrides,
        "reports_count": incident.reports_count,
        "reported_at": _iso(incident.reported_at), "acknowledged_at": _iso(incident.acknowledged_at),
        "on_site_at": _iso(incident.on_site_at), "activated_at": _iso(incident.activated_at),
        "restored_at": _iso(incident.restored_at), "closed_at": _iso(incident.closed_at),
        "merged_into": incident.merged_into.number if incident.merged_into else None,
        "allowed": actions.allowed_transitions(incident),
        "timeline": [{"id": e.pk, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                      "data": e.data if contacts else {k: v for k, v in e.data.items() if k not in PRIVATE_DATA}}
                     for e in timeline],
        "departments": [
            {"department": t.department, "scenario": t.scenario, "name": t.name,
             "ack_due_at": _iso(t.ack_due_at), "acknowledged_at": _iso(t.acknowledged_at),
             "items": [{"id": i.pk, "phase": i.phase, "text": i.text, "done_at": _iso(i.done_at),
                        "done_by": i.done_by} for i in t.items.all()]}
            for t in incident.tasks.prefetch_related("items")],
        "timers": [{"kind": t.kind, "key": t.key, "due_at": _iso(t.due_at), "state": t.state,
                    "breached": t.state == "fired", "finished_at": _iso(t.finished_at), "by": t.finished_by}
                   for t in incident.timers.order_by("due_at", "id")],
        "modes": [{"department": m.department, "system": m.system, "mode": m.mode,
                   "started_at": _iso(m.started_at), "ended_at": _iso(m.ended_at)} for m in incident.modes.all()],
        "notifications": [
            {"id": m.pk, "kind": m.kind, "person": m.person, "name": m.name, "subject": m.subject,
             "step": m.step, "created_at": _iso(m.created_at), "needs_ack": m.needs_ack,
             "acked_at": _iso(m.acked_at), "acked_via": m.acked_via,
             "deliveries": [{"channel": d.channel, "address": d.address if contacts else "", "state": d.state,
                             "attempts": d.attempts, "sent_at": _iso(d.sent_at),
                             "error": d.error_for(contacts)} for d in m.deliveries.all()]}
            for m in incident.messages.prefetch_related("deliveries")],
    }


@api.get("/incidents/{incident_id}", response=responses(200, IncidentOut, errors=(404,)),
         summary="One incident with its grades and timeline")
def get_incident(request: HttpRequest, incident_id: Id) -> dict[str, Any]:
    return incident_detail(found(Incident.objects.select_related("merged_into"), "incident_id", pk=incident_id),
                           request.user)


class IncidentRowOut(Schema):
    id: int
    number: str
    system: str
    status: str
    grade: dict[str, str]
    reports_count: int
    reported_at: str | None


@api.get("/incidents", response=responses(200, list[IncidentRowOut]), summary="Incidents, newest first")
def list_incidents(request: HttpRequest, status: Annotated[Text, Field(description="a status, or \"open\"")] = "",
                   limit: Annotated[int, Field(ge=1, le=500)] = 50, offset: Offset = 0) -> list[dict[str, Any]]:
    rows = Incident.objects.all()
    if status == "open":
        rows = rows.filter(status__in=Incident.OPEN)
    elif status:
        rows = rows.filter(status=status)
    return [{"id": i.pk, "number": i.number, "system": i.system, "status": i.status, "grade": _grades(i),
             "reports_count": i.reports_count, "reported_at": _iso(i.reported_at)}
            for i in rows[offset:offset + limit]]


class ActionIn(Input):
    note: Text = Field(default="", max_length=2000)
    level: Text = Field(default="", max_length=40, description="activate: the response level requested")
    reason: Text = Field(default="", max_length=2000, description="cancel, stand_down: why")
    checks: list[Annotated[int, Field(ge=0, le=99)]] = Field(
        default=[], max_length=100, description="restore: the positions (from 0) of the plan's "
        "recovery.restore_checks the engineer confirms; every one is required")


Lifecycle = Literal["acknowledge", "arrive", "activate", "stand_down", "restore", "close", "cancel"]
assert set(get_args(Lifecycle)) == set(actions.LIFECYCLE), "the API's verbs are the actions' verbs"


class LifecycleConverter:
    """Only the lifecycle verbs match, so /incidents/{id}/records and friends route elsewhere."""

    regex = "|".join(sorted({*actions.LIFECYCLE, *(a.replace("_", "-") for a in actions.LIFECYCLE)}))

    def to_python(self, value: str) -> str:
        return value.replace("-", "_")

    def to_url(self, value: str) -> str:
        return value


register_converter(LifecycleConverter, "lifecycle")


@api.post("/incidents/{incident_id}/{lifecycle:action}", response=responses(200, IncidentOut,
                                                                             errors=(400, 403, 404, 409, 413)),
          summary="acknowledge | arrive | activate | stand_down | restore | close | cancel")
def post_action(request: HttpRequest, incident_id: Id, action: Lifecycle,
                payload: ActionIn | None = None) -> dict[str, Any]:
    incident = found(Incident, "incident_id", pk=incident_id)
    body = payload or ActionIn()
    incident = actions.perform(request.user, incident, action,  # type: ignore[arg-type]
                               note=body.note, level=body.level, reason=body.reason, checks=body.checks)
    return incident_detail(incident, request.user)


@unknown_actions.post("/incidents/{incident_id}/{action}", include_in_schema=False)
def unknown_action(request: HttpRequest, incident_id: str, action: str) -> Any:
    return api.create_response(request, {"detail": _("Unknown action %(action)r.") % {"action": action},
                                         "field": "action", "allowed": list(actions.LIFECYCLE)}, status=404)


@unknown_actions.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None,
                               include_in_schema=False)
def unknown_route(request: HttpRequest, rest: str) -> Any:
    """Anything under /api/v1/ that no route took (a path parameter with a slash in it, a typo)
    is a JSON 404 like every other refusal, not Django's HTML page."""
    return api.create_response(request, {"detail": _("No such API route."), "field": ""}, status=404)


def finished() -> NinjaAPI:
    """The API with every domain's router added (higher domains add theirs when their app is
    ready), then the catch-all last, so that it takes only what no route took."""
    if not _finished:
        api.add_router("/", unknown_actions)
        _finished.append(True)
    return api


_finished: list[bool] = []


class ReportStatusOut(Schema):
    number: str
    incident: str | None = Field(description="empty until the worker has merged the report")
    incident_id: int | None
    status: str = Field(description="the incident's status, or received while the report waits to be merged")
    grade: dict[str, str]
    merged: bool = Field(description="the report joined an incident already open")
    reports_count: int
    reported_at: str | None
    told_restored_at: str | None


@api.get("/reports/{number}", response=responses(200, ReportStatusOut, errors=(404,)),
         summary="A report and the status of its incident")
def get_report(request: HttpRequest, number: Text) -> dict[str, Any]:
    report = found(Report.objects.select_related("incident"), "number", number=number)
    incident = report.incident
    return {"number": report.number, "incident": incident.number if incident else None,
            "incident_id": incident.pk if incident else None, "status": incident.status if incident else "received",
            "grade": _grades(incident) if incident else {}, "merged": report.joined,
            "reports_count": incident.reports_count if incident else 0,
            "reported_at": _iso(report.reported_at), "told_restored_at": _iso(report.told_restored_at)}


class SystemOut(Schema):
    code: str
    name: str
    status: str
    criticality: str
    since: str | None


@api.get("/systems", auth=None, response=responses(200, list[SystemOut], public=True),
         summary="Systems of the published plan with their status (public)")
def list_systems(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"code": s.code, "name": s.name, "status": s.status, "criticality": s.criticality,
             "since": _iso(s.since)} for s in SystemState.objects.filter(in_plan=True)]


class DepartmentOut(Schema):
    code: str
    name: str
    kind: str


@api.get("/departments", auth=None, response=responses(200, list[DepartmentOut], public=True),
         summary="Departments of the published plan (public)")
def list_departments(request: HttpRequest) -> list[dict[str, str]]:
    current = published()
    if current is None:
        return []
    return [{"code": d.code, "name": d.name, "kind": d.kind} for d in current[1].departments]


class AckOut(Schema):
    id: int
    acked_at: str | None
    acked_via: str
    incident: str | None


@api.post("/notifications/{message_id}/ack", response=responses(200, AckOut, errors=(403, 404, 413)),
          summary="Acknowledge a page you received")
def ack_notification(request: HttpRequest, message_id: Id) -> dict[str, Any]:
    message = found(Message, "message_id", pk=message_id)
    message = actions.acknowledge_message(request.user, message, "api")  # type: ignore[arg-type]
    return {"id": message.pk, "acked_at": _iso(message.acked_at), "acked_via": message.acked_via,
            "incident": message.incident.number if message.incident else None}
