"""The receivers monitors post to, and the office's page of integrations, alerts and refused
payloads."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.plans.store import published
from yingji.web import words
from yingji.web.views import run_action

from . import actions, intake
from .models import Alert, Intake, Integration, Silence
from .parse import BadPayload

SHOWN = 100


def _answer(status: int, **body: Any) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def receive(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    """`POST /integrations/<kind>/<token>`: the payload is on disk when this answers 202. A wrong
    token is 404 (a monitor must not learn which tokens exist); a malformed body is 400 naming the
    field, and is kept; only a database fault is 503, which Alertmanager and Zabbix retry."""
    if request.method != "POST" and not (request.method == "GET" and kind == "heartbeat"):  # cron: curl URL
        return _answer(405, detail=_("POST the monitor's payload here."), field="method")
    found = intake.find(kind, token) if len(token) <= 100 else None
    if found is None:
        return _answer(404, detail=_("No integration of this kind has this URL."), field="token")
    try:  # core/limits has refused a body over YINGJI_INTEGRATION_MAX_BYTES before it was read
        received = intake.receive(found[0], kind, request.body)
    except BadPayload as exc:
        return _answer(400, detail=exc.message, field=exc.field, kept=True)
    except DatabaseError:
        return _answer(503, detail=_("Not stored; send it again."), field="")
    return _answer(202, intake=received.intake, alerts=received.alerts)


@login_required
def alerts_page(request: HttpRequest) -> HttpResponse:
    if not allowed(request.user, "integrations"):  # type: ignore[arg-type]
        return render(request, "recovery/forbidden.html", status=403)
    current = published()
    plan = current[1] if current else None
    levels = {lv.code: lv.name for lv in plan.monitoring.levels} if plan else {}
    alerts = list(Alert.objects.select_related("integration", "incident").order_by("-last_seen_at")[:SHOWN])
    for alert in alerts:
        alert.level_name = levels.get(alert.level, alert.level)  # type: ignore[attr-defined]
        alert.system_name = words.system_name(plan, alert.system)  # type: ignore[attr-defined]
    dead = list(Intake.objects.filter(state=Intake.State.DEAD).select_related("integration").order_by("-id")[:SHOWN])
    for row in dead:
        row.excerpt = row.body[:300]  # type: ignore[attr-defined]
    silences = list(Silence.objects.filter(ended_at__isnull=True, ends_at__gt=clock.now()))
    for silence in silences:
        silence.system_name = words.system_name(plan, silence.system)  # type: ignore[attr-defined]
        silence.held = silence.alerts.count()  # type: ignore[attr-defined]
    return render(request, "alerts/alerts.html", {
        "silences": silences, "may_silence": allowed(request.user, "silence"),  # type: ignore[arg-type]
        "integrations": Integration.objects.all(), "alerts": alerts, "dead": dead, "plan": plan,
        "kinds": Integration.Kind.choices, "new_url": request.session.pop("yj_new_integration_url", ""),
        "unmapped": Alert.objects.filter(system="", status=Alert.Status.FIRING).count()})


@login_required
@require_POST
def integration_add(request: HttpRequest) -> HttpResponse:
    made = run_action(request, actions.add_integration, request.POST.get("kind", ""), request.POST.get("name", ""))
    if made:
        request.session["yj_new_integration_url"] = actions.url_of(*made)
    return _back()


@login_required
@require_POST
def integration_rotate(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=integration_id)
    token = run_action(request, actions.rotate_token, integration)
    if token:
        request.session["yj_new_integration_url"] = actions.url_of(integration, token)
    return _back()


@login_required
@require_POST
def silence_create(request: HttpRequest) -> HttpResponse:
    """The form's times are the hospital's wall-clock times."""
    current = published()
    zone = current[1].hospital.zone() if current else None
    try:
        starts, ends = (parse_datetime(request.POST.get(f, "")) for f in ("starts_at", "ends_at"))
    except ValueError:  # well formed but no such day
        starts = ends = None
    if starts is None or ends is None:
        messages.error(request, _("Give a start and an end."))
        return _back()
    labels = {}
    for line in request.POST.get("labels", "").splitlines()[:20]:
        name, sep, pattern = line.partition("=")
        if sep and name.strip():
            labels[name.strip()] = pattern.strip()
    run_action(request, actions.create_silence, system=request.POST.get("system", ""), labels=labels,
               starts_at=starts if starts.tzinfo else starts.replace(tzinfo=zone),
               ends_at=ends if ends.tzinfo else ends.replace(tzinfo=zone),
               reason=request.POST.get("reason", ""), announce=request.POST.get("announce") == "on")
    return _back()


@login_required
@require_POST
def silence_end(request: HttpRequest, silence_id: int) -> HttpResponse:
    run_action(request, actions.end_silence, get_object_or_404(Silence, pk=silence_id))
    return _back()


def _back() -> HttpResponse:
    return redirect("alerts")


def dead_letter(request: HttpRequest, intake_id: int) -> HttpResponse:
    """One refused payload whole, as JSON, for the office to see what the monitor sent."""
    if not request.user.is_authenticated or not allowed(request.user, "integrations"):  # type: ignore[arg-type]
        return _answer(403, detail=_("Your role may not do this."), field="")
    row = get_object_or_404(Intake, pk=intake_id)
    try:
        body: Any = json.loads(row.body)
    except ValueError:
        body = row.body
    return _answer(200, id=row.pk, integration=row.integration.name, state=row.state, field=row.field,
                   error=row.error, received_at=row.received_at.isoformat(), body=body)
