"""The review page: the written review, corrective actions, the reports owed to authorities
(draft, mark sent) and the PDF/DOCX downloads. Thin: every change goes through an action."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.actors import display_name
from yingji.incidents.models import Incident
from yingji.plans.store import plan_of
from yingji.web.views import run_action

from . import actions, regulatory
from .document import Doc, regulatory_doc, review_doc
from .document import render as render_document
from .models import CorrectiveAction, RegulatoryReport, Review, SituationReport

CONTENT_TYPES = {"pdf": "application/pdf",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@login_required
def review_page(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    if not allowed(request.user, "read_review"):  # type: ignore[arg-type]
        return render(request, "recovery/forbidden.html", status=403)
    plan = plan_of(incident.plan_version_id)
    review = Review.objects.filter(incident=incident).first() or Review(incident=incident)
    corrective = list(review.corrective_actions.all()) if review.pk else []
    for action in corrective:
        action.owner_name = display_name(action.owner, plan)  # type: ignore[attr-defined]
    reports = list(incident.regulatory_reports.all())  # type: ignore[attr-defined]
    for report in reports:
        report.items = [(key, label, report.content.get(key, ""))  # type: ignore[attr-defined]
                        for key, label in regulatory.ITEMS[RegulatoryReport.Kind(report.kind)]]
        waiting = regulatory.needs_approval(plan, report)
        report.waiting_for = regulatory.approvers(waiting)  # type: ignore[attr-defined]
        report.may_approve = bool(waiting) and allowed(request.user, "regulatory",  # type: ignore[attr-defined,arg-type]
                                                       frozenset(waiting))
        report.approver = display_name(report.approved_by, plan) if report.approved_at else ""  # type: ignore[attr-defined]
    return render(request, "reviews/review.html", {
        "incident": incident, "plan": plan, "review": review, "now": clock.now(),
        "today": clock.now().astimezone(plan.hospital.zone()).date(),
        "sections": [(field, label, getattr(review, field)) for field, label in Review.SECTIONS],
        "corrective": corrective, "reports": reports, "people": plan.people,
        "may_review": allowed(request.user, "review"),  # type: ignore[arg-type]
        "may_report": allowed(request.user, "regulatory"),  # type: ignore[arg-type]
        "person": getattr(request.user, "person", ""),
    })


def _back(incident: Incident, anchor: str = "") -> HttpResponse:
    return redirect(f"/incidents/{incident.number}/review{anchor}")


@login_required
@require_POST
def review_save(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    run_action(request, actions.save_review, incident,
               **{f: request.POST[f] for f in actions.TEXT_FIELDS if f in request.POST})
    return _back(incident)


@login_required
@require_POST
def corrective_add(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    run_action(request, actions.add_corrective_action, incident, request.POST.get("text", ""),
               request.POST.get("owner", ""), request.POST.get("due_date", ""))
    return _back(incident, "#corrective")


@login_required
@require_POST
def corrective_done(request: HttpRequest, action_id: int) -> HttpResponse:
    action = get_object_or_404(CorrectiveAction.objects.select_related("review__incident"), pk=action_id)
    run_action(request, actions.finish_corrective_action, action)
    return _back(action.review.incident, "#corrective")


@login_required
@require_POST
def report_save(request: HttpRequest, report_id: int) -> HttpResponse:
    """Save the draft; with "sent", also record how it went out (which meets the deadline)."""
    report = get_object_or_404(RegulatoryReport.objects.select_related("incident"), pk=report_id)
    content = {key: request.POST[key] for key, _label in regulatory.ITEMS[RegulatoryReport.Kind(report.kind)]
               if key in request.POST}
    if "sent" in request.POST:
        run_action(request, regulatory.mark_sent, report, request.POST.get("channel", ""),
                   request.POST.get("receipt", ""), content, partial=request.POST.get("partial") == "on")
    else:
        run_action(request, actions.save_report_draft, report, content)
    return _back(report.incident, f"#report-{report.pk}")


@login_required
@require_POST
def situation_report_send(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    contents = {key: request.POST.get(key, "") for key, _label in SituationReport.CONTENTS}
    run_action(request, actions.send_situation_report, incident, contents)
    return redirect("incident", number=number)


@login_required
@require_POST
def report_approve(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(RegulatoryReport.objects.select_related("incident"), pk=report_id)
    run_action(request, regulatory.approve, report)
    return _back(report.incident, f"#report-{report.pk}")


@login_required
@require_POST
def evidence_add(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    run_action(request, actions.preserve_evidence, incident, request.POST.get("kind", ""),
               request.POST.get("what", ""), request.POST.get("location", ""), request.POST.get("sha256", ""))
    return redirect(f"/incidents/{incident.number}#evidence")


def _download(doc: Doc, fmt: str, name: str) -> HttpResponse:
    if fmt not in CONTENT_TYPES:
        return HttpResponse(status=404)
    response = HttpResponse(render_document(doc, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
def review_download(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    incident = get_object_or_404(Incident, number=number)
    if not allowed(request.user, "read_review"):  # type: ignore[arg-type]
        return HttpResponse(status=403)
    return _download(review_doc(incident), fmt, f"review-{incident.number}")


@login_required
def report_download(request: HttpRequest, report_id: int, fmt: str) -> HttpResponse:
    report = get_object_or_404(RegulatoryReport.objects.select_related("incident"), pk=report_id)
    if not allowed(request.user, "read_review"):  # type: ignore[arg-type]
        return HttpResponse(status=403)
    return _download(regulatory_doc(report), fmt, f"{report.kind}-{report.incident.number}")
