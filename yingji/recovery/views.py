"""The downtime entry form (手工登记) and the back-entry worklist (补录与对账).

The entry form is built for a clerk with a pile of paper slips and no mouse: the cursor starts
in the first field that is not carried over, Tab walks the fields in slip order, the kind and
insurance lists answer to a digit, Enter saves and brings back an empty slip with kind,
department, clinician and time kept and the serial counted on, and Alt+T takes the next
temporary patient number. It is a plain POST form, so it works with JavaScript off.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.errors import ActionError, BadInput
from yingji.incidents.models import Incident
from yingji.plans.store import plan_of, published
from yingji.web.views import back_to, run_action, whole_number

from . import actions, kinds
from .models import ManualRecord, TempRange
from .reconciliation import OPEN, reconciliation

FORM_FIELDS = ("kind", "card_no", "temp_no", "patient_name", "paper_serial", "occurred_at", "amount",
               "clinician", "insurance")
STICKY = ("kind", "clinician", "occurred_at")  # the same for a run of slips from one pad
SESSION_KEY = "yingji.entry"


def next_serial(serial: str) -> str:
    """MZ-0041 -> MZ-0042: slips are typed in pad order, so offer the next one."""
    match = re.search(r"(\d+)(\D*)$", serial)
    if not match:
        return ""
    digits = match.group(1)
    return f"{serial[:match.start(1)]}{int(digits) + 1:0{len(digits)}d}{match.group(2)}"


def _department_for(request: HttpRequest, plan: Any, own: str | None) -> str:
    """Staff enter for their own department; the office picks one."""
    if own is not None:
        return own
    wanted = request.POST.get("department") or request.GET.get("department") or ""
    return wanted if plan.department(wanted) else ""


@login_required
def entry(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    if not allowed(request.user, "record"):  # type: ignore[arg-type]
        return render(request, "recovery/forbidden.html", status=403)
    plan = plan_of(incident.plan_version_id)
    own = actions.own_department(request.user)  # type: ignore[arg-type]
    department = _department_for(request, plan, own)
    sticky: dict[str, str] = request.session.get(SESSION_KEY, {}).get(f"{incident.pk}:{department}", {})
    form = {**sticky, "paper_serial": next_serial(sticky.get("last_serial", ""))}
    form.setdefault("occurred_at", timezone.localtime(clock.now(), plan.hospital.zone()).strftime("%Y-%m-%d %H:%M"))
    errors: dict[str, str] = {}
    focus = "card_no" if sticky else "kind"
    if request.method == "POST":
        form = {f: request.POST.get(f, "").strip() for f in FORM_FIELDS}
        try:
            if "take_temp_no" in request.POST:
                form["temp_no"] = actions.issue_temp_no(request.user, department)  # type: ignore[arg-type]
                focus = "patient_name"
            else:
                record = actions.add_record(request.user, incident, {**form, "department": department},  # type: ignore[arg-type]
                                            source=ManualRecord.Source.FORM)
                kept = {f: form[f] for f in STICKY} | {"last_serial": record.paper_serial}
                request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}),
                                                f"{incident.pk}:{department}": kept}
                messages.success(request, _("Slip %(serial)s saved.") % {"serial": record.paper_serial})
                return redirect(f"{request.path}?department={department}")
        except BadInput as exc:
            errors[exc.field] = exc.message
            focus = exc.field if exc.field in (*FORM_FIELDS, "department") else "kind"
        except ActionError as exc:
            errors["form"] = exc.message
    recent = ManualRecord.objects.filter(incident=incident, department=department).order_by("-id")[:10]
    return render(request, "recovery/entry.html", {
        "incident": incident, "plan": plan, "department": plan.department(department), "form": form,
        "errors": errors, "focus": focus, "kinds": kinds.choices(plan), "recent": recent,
        "count": ManualRecord.objects.filter(incident=incident, department=department).count(),
        "choose_department": own is None,
    }, status=400 if errors else 200)


@login_required
def worklist(request: HttpRequest, number: str) -> HttpResponse:
    """After recovery: each record entered into its system (the plan's target system, HIS in the
    shipped plans), verified, confirmed; each department balanced."""
    incident = get_object_or_404(Incident, number=number)
    plan = plan_of(incident.plan_version_id)
    rows = ManualRecord.objects.filter(incident=incident)
    own = actions.own_department(request.user)  # type: ignore[arg-type]
    payers = actions.payers(plan)
    # Staff see their own department; finance and the 医保 office settle for every department.
    department = actions.listed_department(request.user, plan, request.GET.get("department", own or ""))  # type: ignore[arg-type]
    if department:
        rows = rows.filter(department=department)
    state = request.GET.get("state", "open")
    if state == "open":
        rows = rows.filter(OPEN)
    elif state in ManualRecord.State.values:
        rows = rows.filter(state=state)
    page = Paginator(rows.order_by("department", "occurred_at", "id"), 50).get_page(request.GET.get("page"))
    names = {d.code: d.name for d in plan.departments}
    focused = False
    patients = actions.sees_patients(request.user)  # type: ignore[arg-type]
    settles = actions.may_settle(request.user, plan)  # type: ignore[arg-type]
    for record in page:
        actions.shown_to(record, patients)
        record.steps = [s for s in actions.allowed_steps(record) if settles or s != "settle"]  # type: ignore[attr-defined]
        record.department_name = names.get(record.department, record.department)  # type: ignore[attr-defined]
        record.kind_name = kinds.kind_name(plan, record.kind)  # type: ignore[attr-defined]
        record.state_name = kinds.state_name(plan, record.state, record.kind)  # type: ignore[attr-defined]
        record.system = kinds.system_name(plan, record.kind)  # type: ignore[attr-defined]
        # The cursor waits in the first id box: type the id, Enter, and it moves to the next.
        record.focus = not focused and "enter" in record.steps  # type: ignore[attr-defined]
        focused = focused or record.focus  # type: ignore[attr-defined]
    finance = plan.recovery.finance_department
    may_reconcile = allowed(request.user, "reconcile")  # type: ignore[arg-type]
    balances = [{**row, "name": names.get(row["department"], row["department"]),
                 "may_lead": may_reconcile and own in (None, row["department"]),
                 "may_finance": may_reconcile and own in (None, finance)} for row in reconciliation(incident)]
    return render(request, "recovery/worklist.html", {
        "incident": incident, "plan": plan, "page": page, "department": department, "state": state,
        "choose_department": not own or own in payers, "balances": balances, "departments": plan.departments,
        "states": kinds.state_choices(plan), "system": kinds.system_name(plan),
        "kinds": kinds.choices(plan),
        "may_record": allowed(request.user, "record"),  # type: ignore[arg-type]
        "rejected": request.session.pop(f"yingji.rejected.{incident.pk}", None),
    })


def _back(request: HttpRequest, incident: Incident) -> HttpResponse:
    return back_to(request, f"/incidents/{incident.number}/records")


@login_required
@require_POST
def record_step(request: HttpRequest, record_id: int, step: str) -> HttpResponse:
    record = get_object_or_404(ManualRecord.objects.select_related("incident"), pk=record_id)
    run_action(request, actions.advance, record, step, request.POST.get("his_id", ""), request.POST.get("note", ""))
    return _back(request, record.incident)


@login_required
@require_POST
def reconcile(request: HttpRequest, number: str, department: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    if "as" in request.POST:
        run_action(request, actions.sign_off, incident, department, request.POST["as"], request.POST.get("note", ""))
        return _back(request, incident)
    run_action(request, actions.set_expected, incident, department, request.POST.get("expected_count"),
               request.POST.get("expected_amount"), request.POST.get("note", ""))
    return _back(request, incident)


@login_required
@require_POST
def upload(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("Choose a CSV or XLSX file."))
        return _back(request, incident)
    result = run_action(request, actions.import_records, incident, file.name or "", file.read())
    if result is not None:
        messages.success(request, _("%(accepted)d record(s) imported, %(rejected)d row problem(s).")
                         % {"accepted": result.accepted, "rejected": len(result.rejected)})
        request.session[f"yingji.rejected.{incident.pk}"] = result.rejected[:200]
    return _back(request, incident)


@login_required
def temp_ranges(request: HttpRequest) -> HttpResponse:
    """Temporary patient numbers reserved ahead per department, so a patient registered on paper
    gets a number nobody else hands out (office and admin reserve; everyone signed in can look)."""
    current = published()
    if request.method == "POST" and current:
        try:
            first, last = (whole_number(request.POST.get(f), f) for f in ("first", "last"))
            width = whole_number(request.POST.get("width"), "width", maximum=12)
            actions.reserve_range(request.user, request.POST.get("department", ""),  # type: ignore[arg-type]
                                  request.POST.get("prefix", "").strip(), first, last, width or 6)
        except ActionError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("temp_ranges")
    plan = current[1] if current else None
    names = {d.code: d.name for d in plan.departments} if plan else {}
    blocks = list(TempRange.objects.all())
    for block in blocks:
        block.department_name = names.get(block.department, block.department)  # type: ignore[attr-defined]
        block.span = f"{block.number(block.first)}–{block.number(block.last)}"  # type: ignore[attr-defined]
    return render(request, "recovery/temp_ranges.html", {
        "blocks": blocks, "plan": plan, "form": request.POST,
        "may_reserve": allowed(request.user, "temp_range"),  # type: ignore[arg-type]
    })

