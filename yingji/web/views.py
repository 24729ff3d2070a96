"""Server-rendered pages. Every button is a plain POST form, so the UI works on old intranet
browsers with JavaScript off; htmx only refreshes the live parts when it is there."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.signing import BadSignature, SignatureExpired
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from yingji.accounts.lockout import client_address
from yingji.accounts.roles import ACTION_ROLES, allowed
from yingji.core import clock, numbers
from yingji.core.actors import ANONYMOUS, link_actor
from yingji.core.apischema import COUNT_MAX, nul_free
from yingji.core.errors import ActionError, BadInput
from yingji.incidents import actions, escalation, situation
from yingji.incidents.models import (
    Bulletin,
    ChecklistItem,
    DepartmentTask,
    DowntimeMode,
    Incident,
    Notice,
    Report,
    SystemState,
)
from yingji.notify.models import Delivery, Message
from yingji.notify.service import delivery_problems, message_for_token
from yingji.oncall.checks import nobody_reached
from yingji.plans import actions as plan_actions
from yingji.plans.models import PlanVersion
from yingji.plans.store import plan_of, published
from yingji.reviews.models import CorrectiveAction, RegulatoryReport
from yingji.timers.service import worker_alive
from yingji.web import cards

from . import words


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor, "worker": worker_alive(),
                         "plan": published() is not None, "time": clock.now().isoformat()})


def _board() -> list[SystemState]:
    """The systems, each with the departments now working without it, by mode ("收费科、药房：单机")."""
    rows = list(SystemState.objects.filter(in_plan=True).select_related("incident"))
    current = published()
    names = {d.code: d.name for d in current[1].departments} if current else {}
    labels = dict(DowntimeMode.Mode.choices)
    working: dict[str, dict[str, list[str]]] = {}
    for system, department, mode in (DowntimeMode.objects.filter(ended_at__isnull=True)
                                     .values_list("system", "department", "mode").order_by("id")):
        working.setdefault(system, {}).setdefault(mode, []).append(names.get(department, department))
    comma = _(", ")
    for row in rows:
        row.modes = [_("%(departments)s: %(mode)s") % {"departments": comma.join(depts),  # type: ignore[attr-defined]
                                                       "mode": labels.get(mode, mode)}
                     for mode, depts in working.get(row.code, {}).items()]
    return rows


def _graded(incidents: Any) -> list[Incident]:
    """Incidents with their fault class and response level by name, from the plan each ran under."""
    rows = list(incidents)
    for row in rows:
        plan = plan_of(row.plan_version_id)
        row.grade_names = " / ".join(words.grade_name(plan, scheme, getattr(row, scheme))  # type: ignore[attr-defined]
                                     for scheme in ("fault_class", "response_level"))
    return rows


def dashboard(request: HttpRequest) -> HttpResponse:
    open_incidents = _graded(Incident.objects.filter(status__in=Incident.OPEN).order_by("-reported_at")[:50])
    recent = (Incident.objects.filter(status=Incident.Status.RESTORED).order_by("-restored_at")[:10])
    notices = []
    if request.user.is_authenticated:
        notices = list(Notice.objects.filter(user=request.user, read_at__isnull=True)
                       .select_related("incident")[:10])
    owed, corrective = [], []
    if getattr(request.user, "role", "") in ("office", "commander"):
        owed = list(RegulatoryReport.objects.filter(sent_at__isnull=True).select_related("incident")[:20])
        corrective = list(CorrectiveAction.objects.filter(done_at__isnull=True).select_related("review__incident")[:20])
    modes = DowntimeMode.objects.filter(ended_at__isnull=True).select_related("incident")
    current = published()
    departments = {d.code: d.name for d in current[1].departments} if current else {}
    may_scenario = allowed(request.user, "scenario")  # type: ignore[arg-type]
    context = {"board": _board(), "board_notices": cards.board_notices(),
               "open_incidents": open_incidents, "recent": recent, "notices": notices,
               "plan": current[1] if current else None,
               "owed": owed, "corrective": corrective, "now": clock.now(),
               "today": clock.now().astimezone(current[1].hospital.zone() if current else None).date(),
               "modes": [(departments.get(m.department, m.department), m) for m in modes],
               "may_scenario": may_scenario, "raised": with_contacts(Bulletin.objects.filter(lowered_at__isnull=True)),
               "one_click": [s for s in current[1].scenarios if any(c.systems for c in s.applies_when)]
               if current and may_scenario else [],
               # Pages of open incidents that reached nobody on a channel: said once, in red, with the fix.
               "problems": delivery_problems(current[1], Delivery.objects.filter(
                   message__incident__status__in=Incident.OPEN), allowed(request.user, "see_contacts"))  # type: ignore[arg-type]
               if current and request.user.is_authenticated else []}
    template = "web/_board.html" if request.headers.get("HX-Request") else "web/dashboard.html"
    return render(request, template, context)


def report_form(request: HttpRequest) -> HttpResponse:
    """The ≤30-second form: which system, what is wrong, where, a phone number."""
    user = request.user if request.user.is_authenticated else None
    if user is None and not _anonymous_ok():
        return redirect(f"/login?next={request.path}")
    phone_mode = request.GET.get("phone") == "1" or request.POST.get("channel") == "phone"
    if phone_mode and not allowed(user, "phone_report"):
        phone_mode = False
    current = published()
    errors: dict[str, str] = {}
    status = 0
    if request.method == "POST" and current:
        try:
            report = actions.accept_report(
                user or ANONYMOUS,
                system=posted(request, "system"), symptom=posted(request, "symptom"),
                location=posted(request, "location"), phone=posted(request, "phone"),
                reporter_name=posted(request, "reporter_name"),
                department=posted(request, "department"),
                patients_affected=whole_number(request.POST.get("patients_affected"), "patients_affected"),
                security_suspected=request.POST.get("security_suspected") == "on",
                scope=posted(request, "scope"), fault=posted(request, "fault"),
                channel=Report.Channel.PHONE if phone_mode else Report.Channel.WEB,
            )
        except BadInput as exc:
            errors[exc.field] = exc.message
        except OperationalError:  # nothing was stored: keep what was typed and say to send it again
            errors["symptom"] = _("Not stored: the database is busy or failed; press Send report again.")
            status = 503
        else:
            return redirect("report_status", key=report.access_key)
    plan = current[1] if current else None
    last_location = unquote(request.COOKIES.get("yj_location", ""))
    board = {s.code: s for s in _board()}
    # Each system with the open incident already reported for it, so that a storm of reports adds
    # to that incident (what else is wrong, where) instead of reporting it again.
    systems = [(s, open_incident(board.get(s.code))) for s in plan.systems] if plan else []
    return render(request, "web/report.html", {
        "plan": plan, "errors": errors, "form": request.POST, "phone_mode": phone_mode,
        "board": board, "systems": systems, "last_location": last_location,
        "scopes": Incident.Scope.choices, "default_phone": getattr(user, "phone", ""),
    }, status=(status or 400) if errors else 200)


def open_incident(state: SystemState | None) -> Incident | None:
    """The open incident a board row points at, if any."""
    incident = state.incident if state else None
    return incident if incident is not None and incident.is_open else None


def _anonymous_ok() -> bool:
    from django.conf import settings

    return bool(settings.YINGJI_ANONYMOUS_REPORTS)


def whole_number(value: str | None, field: str, maximum: int = COUNT_MAX) -> int:
    """A form's number field; empty is 0, anything else not a whole number from 0 to `maximum` is
    a BadInput naming it. `maximum` defaults to what an integer column holds on PostgreSQL, so a
    long row of nines is a message on the form, not an overflow deep in the database."""
    return numbers.whole(value, field, high=maximum) or 0


def posted(request: HttpRequest, field: str) -> str:
    """A form's text field, refused with a message naming it when it holds a NUL, which PostgreSQL
    cannot store (the API refuses the same through apischema.Text)."""
    try:
        return nul_free(request.POST.get(field, ""))
    except ValueError as exc:
        raise BadInput(field, str(exc)) from None


def report_status(request: HttpRequest, key: str) -> HttpResponse:
    """What the reporter sees: their reference, the incident's status, and "restored" when it is."""
    report = Report.objects.select_related("incident").filter(access_key=key).first()
    if report is None:
        # A link copied by hand from an SMS or a note: say what happened and how to go on, in the
        # reader's language, rather than the site's bare "not found".
        return render(request, "web/report_missing.html", status=404)
    incident = report.incident  # None for the moment between the answer and the worker's merge
    while incident is not None and incident.merged_into_id:
        incident = incident.merged_into
    response = render(request, "web/report_status.html", {"report": report, "incident": incident})
    if report.location:
        # Remember the workstation's place for its next report; quoted because headers are latin-1.
        response.set_cookie("yj_location", quote(report.location), max_age=365 * 86400, samesite="Lax")
    return response


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    rows = Incident.objects.all().order_by("-reported_at")
    status = request.GET.get("status", "")
    if status == "open":
        rows = rows.filter(status__in=Incident.OPEN)
    elif status in Incident.Status.values:
        rows = rows.filter(status=status)
    system = request.GET.get("system", "")
    if system:
        rows = rows.filter(system=system)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    page.object_list = _graded(page.object_list)
    current = published()
    stuck = actions.stuck_reports() if allowed(request.user, "retry_report") else []  # type: ignore[arg-type]
    return render(request, "web/incident_list.html", {"page": page, "status": status, "system": system,
                                                      "statuses": Incident.Status.choices, "stuck": stuck,
                                                      "systems": current[1].systems if current else []})


@login_required
@require_POST
def report_retry(request: HttpRequest, number: str) -> HttpResponse:
    report = get_object_or_404(Report, number=number)
    if run_action(request, actions.retry_report, report):
        messages.success(request, _("Report %(number)s is passed on again.") % {"number": number})
    return redirect("incidents")


def back_to(request: HttpRequest, default: str) -> HttpResponse:
    """Redirect to the form's `next` when it is a page of this site, else to `default`."""
    target = request.POST.get("next", "")
    safe = target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return redirect(target if safe else default)


def run_action(request: HttpRequest, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an action as the logged-in user; a refusal becomes a message on the next page (None)."""
    try:
        return fn(request.user, *args, **kwargs)
    except ActionError as exc:
        messages.error(request, exc.message)
        return None


@login_required
@require_POST
def incident_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    if action not in actions.LIFECYCLE:
        return HttpResponse(status=404)
    run_action(request, actions.perform, incident, action, note=request.POST.get("note", ""),
               level=request.POST.get("level", ""), reason=request.POST.get("reason", ""),
               checks=[int(c) for c in request.POST.getlist("checks") if c.isdigit() and len(c) < 3])
    return redirect("incident", number=number)


@login_required
@require_POST
def incident_facts(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    changes: dict[str, Any] = {f: request.POST[f] for f in ("scope", "cause", "fault", "security", "patients_affected",
                                                              "location", "title") if f in request.POST}
    if "extra_systems" in request.POST:
        # The form sends an empty value beside the boxes, so that unticking all of them still says
        # "no other systems"; the empty value is that marker, not a system.
        changes["extra_systems"] = [code for code in request.POST.getlist("extra_systems") if code]
    run_action(request, actions.update_facts, incident, **changes)
    return redirect("incident", number=number)


@login_required
@require_POST
def incident_grade(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    # The form picks a grade by name ("scheme:code"); the API and older forms send the two apart.
    scheme, _sep, code = request.POST.get("grade", "").partition(":")
    run_action(request, actions.override_grade, incident, scheme or request.POST.get("scheme", ""),
               code if scheme else request.POST.get("code", ""), request.POST.get("reason", ""))
    return redirect("incident", number=number)


@login_required
@require_POST
def incident_mode(request: HttpRequest, number: str) -> HttpResponse:
    """Declare a downtime mode by hand, or end one department's."""
    incident = get_object_or_404(Incident, number=number)
    department = request.POST.get("department", "")
    if request.POST.get("end"):
        run_action(request, actions.end_mode, incident, department)
    else:
        run_action(request, actions.declare_mode, incident, request.POST.get("mode", ""), [department])
    return redirect(f"/incidents/{number}#clocks")


def with_contacts(bulletins: Any) -> list[Bulletin]:
    """Each bulletin with the outside contacts its scenario says to call (name, phone)."""
    rows = list(bulletins.select_related("incident"))
    for bulletin in rows:
        plan = plan_of(bulletin.incident.plan_version_id)
        scenario = plan.scenario(bulletin.scenario)
        bulletin.contacts = (escalation.scenario_contacts(bulletin.incident, plan, scenario)  # type: ignore[attr-defined]
                             if scenario else [])
    return rows


@login_required
@require_POST
def scenario_raise(request: HttpRequest, code: str) -> HttpResponse:
    incident = run_action(request, actions.raise_scenario_for_system, code)
    return redirect("incident", number=incident.number) if incident else redirect("dashboard")


@login_required
@require_POST
def incident_scenario(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    run_action(request, actions.raise_scenario, incident, request.POST.get("scenario", ""))
    return redirect("incident", number=number)


@login_required
@require_POST
def bulletin_lower(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = get_object_or_404(Bulletin.objects.select_related("incident"), pk=bulletin_id)
    run_action(request, actions.lower_bulletin, bulletin)
    return back_to(request, "/")


def screen(request: HttpRequest) -> HttpResponse:
    """For the electronic screens in the halls: the bulletins in large type and the system board,
    refreshed every 30 seconds, no login."""
    return render(request, "web/screen.html", {"board": _board(), "board_notices": cards.board_notices()})


@login_required
@require_POST
def task_ack(request: HttpRequest, task_id: int) -> HttpResponse:
    task = get_object_or_404(DepartmentTask.objects.select_related("incident"), pk=task_id)
    run_action(request, actions.acknowledge_department, task)
    return redirect("incident", number=task.incident.number)


@login_required
@require_POST
def item_tick(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(ChecklistItem.objects.select_related("task__incident"), pk=item_id)
    run_action(request, actions.tick, item, request.POST.get("done", "1") == "1")
    return redirect(f"/incidents/{item.task.incident.number}#task-{item.task_id}")


@login_required
@require_POST
def notice_read(request: HttpRequest, notice_id: int) -> HttpResponse:
    Notice.objects.filter(pk=notice_id, user_id=request.user.pk or 0).update(read_at=clock.now())
    return redirect("dashboard")


def client_origin(request: HttpRequest) -> dict[str, str]:
    """Where a request came from, for the audit entry of something done without a login."""
    return {"address": client_address(request) or "",
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


@csrf_exempt  # the signed token is the authority: a phone opening an SMS link has no session
@require_http_methods(["GET", "HEAD", "POST"])
def ack(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a page: works from a phone without logging in, until it expires.

    Opening it (GET, HEAD) only shows what would be acknowledged and for whom: chat apps, mail
    scanners and link previews fetch every link they see, and must not acknowledge for the person
    paged. The large button POSTs; a second press changes nothing.
    """
    try:
        message = message_for_token(token)
    except SignatureExpired:
        return _ack_page(request, {"problem": _("This link has expired. Call the information center or log in "
                                                "to acknowledge.")}, status=410)
    except (BadSignature, Message.DoesNotExist):
        return _ack_page(request, {"problem": _("This link is not valid.")}, status=404)
    if request.method == "POST":
        # The button was pressed on this site's page (Origin says so) by someone signed in: name
        # them. A form on another site posting the link must not put a signed-in victim's name on it.
        from_here = request.META.get("HTTP_ORIGIN") == request.build_absolute_uri("/").rstrip("/")
        signed_in = request.user if request.user.is_authenticated and from_here else None
        actions.acknowledge_message(signed_in or link_actor(message.name), message, "link",
                                    origin=client_origin(request))
        return redirect(request.path, permanent=False)
    return _ack_page(request, _ack_context(message))


def _ack_context(message: Message) -> dict[str, Any]:
    """What the person paged reads on their phone: which incident and system (by name), what kind
    of page, what to do next once acknowledged, and the numbers to call."""
    incident = message.incident
    plan = plan_of(incident.plan_version_id) if incident else None
    if incident is None or plan is None:
        return {"message": message}
    current = incident
    while current.merged_into_id:  # a page for an incident merged since: the work goes on in the other
        current = current.merged_into  # type: ignore[assignment]
    system = plan.system(incident.system)
    department = plan.department(message.task.department) if message.task and message.task.department else None
    if current.status not in Incident.OPEN:
        step = "ended"
    elif message.task is not None:
        step = "department"
    else:
        steps: dict[str, str] = {Message.Kind.PAGE: "on_site", Message.Kind.ESCALATION: "escalation",
                                 Message.Kind.BREACH: "breach", Message.Kind.ACTIVATION: "plan",
                                 Message.Kind.MODE_SWITCH: "mode", Message.Kind.ACTIVATION_REQUEST: "decide"}
        step = steps.get(message.kind, "follow")
    leader = _leader(current, plan, message.person)
    paged = plan.person(message.person) if message.person else None
    if step in ("on_site", "escalation") and leader is not None:
        step = "taken"  # someone else has it: the reader follows, and can call them
    elif step == "on_site" and paged is not None and paged.role not in (None, "engineer"):
        step = "follow"  # a director or the leading group is told of the fault, not sent on site
    return {"message": message, "incident": current, "plan": plan,
            "system_name": system.name if system else incident.system,
            "escalation": message.kind == Message.Kind.ESCALATION,
            "department_name": department.name if department else (message.task.name if message.task else ""),
            "next_step": step, "leader": leader, "leader_phone": _reachable_at(leader, paged),
            "waited": plan.timers.acknowledge * max(1, message.step),
            "hotline": plan.hospital.it_hotline or "",
            "raised": with_contacts(current.bulletins.filter(lowered_at__isnull=True))}  # type: ignore[attr-defined]


def _leader(incident: Incident, plan: Any, paged: str) -> Any:
    """Who took the incident, as the plan's person, so that a department lead or a director paged
    later can call them; None when nobody has, or when it is the reader."""
    code = situation.lead_person(incident)
    person = plan.person(code) if code and code != paged else None
    return person if person is not None and (person.phone or person.mobile) else None


def _reachable_at(leader: Any, paged: Any) -> str:
    """The leader's number for the reader of a link, which needs no login: the work phone, and the
    mobile only when the person paged is one who may see mobiles (those who page people)."""
    if leader is None:
        return ""
    sees_mobiles = paged is not None and paged.role in ACTION_ROLES["see_contacts"]
    return leader.phone or (leader.mobile if sees_mobiles else "") or ""


def _ack_page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, "web/ack.html", context, status=status)
    # The token is in the address: not cached, not indexed; the site's Referrer-Policy (same-origin)
    # keeps it from other sites while letting the button's POST carry its Origin.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
def plan_view(request: HttpRequest) -> HttpResponse:
    versions = list(PlanVersion.objects.all()[:20])
    version_id = request.GET.get("version")
    version: PlanVersion | None
    if version_id:
        version = get_object_or_404(PlanVersion, pk=version_id)
    else:
        current = published()
        version = PlanVersion.objects.get(pk=current[0]) if current else next(iter(versions), None)
    plan = plan_of(version.pk) if version else None
    return render(request, "web/plan.html", {
        "version": version, "plan": plan, "versions": versions, "backentry": _backentry_rules(plan),
        "may_approve": allowed(request.user, "plan_approve"),  # type: ignore[arg-type]
        "may_publish": allowed(request.user, "plan_publish"),  # type: ignore[arg-type]
        "sees_contacts": allowed(request.user, "see_contacts"),  # type: ignore[arg-type]
        "warnings": nobody_reached(plan) if plan else [],
    })


def _backentry_rules(plan: Any) -> dict[str, Any]:
    """The plan's back-entry rules in words: where records go, who settles, the kinds."""
    if plan is None:
        return {}
    return {
        "system": plan.backentry_system(),
        "settling": words.listed(words.department_name(plan, code) for code in plan.settling_departments()),
        "on_account": words.listed(words.department_name(plan, code) for code in plan.on_account_departments()),
        "kinds": [{"code": k.code, "name": words.record_kind_name(plan, k.code), "needs_clinician": k.needs_clinician,
                   "needs_amount": k.needs_amount, "inpatient": k.inpatient,
                   "system": plan.backentry_system(k.code).name} for k in plan.recovery.record_kinds],
    }


@login_required
@require_POST
def plan_transition(request: HttpRequest, version_id: int, action: str) -> HttpResponse:
    version = get_object_or_404(PlanVersion, pk=version_id)
    fn = {"approve": plan_actions.approve, "publish": plan_actions.publish}.get(action)
    if fn is None:
        return HttpResponse(status=404)
    run_action(request, fn, version)
    return redirect(f"/plan?version={version.pk}")
