"""The incident page: what is happening and what the person looking must do, first.

The header says the system, its grades by colour, how long it has been down, who leads and who is
on it, the plan's level, and the next deadline with its countdown and who answers for it. Then
"what you must do now" for this viewer (acknowledge, go on site, activate, acknowledge for the
department, enter records), each with its button; the buttons that start or end something large
(activate, stand down, close, cancel) open a confirmation that says what will happen. The
deadlines follow, grouped, the viewer's department first; the timeline has its own column.
The long tables are built as plain rows here: see "Web UI" in docs/architecture.md for why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from yingji.accounts.roles import allowed
from yingji.core import clock
from yingji.core.actors import display_name
from yingji.core.models import AuditEntry
from yingji.incidents import actions, escalation, situation
from yingji.incidents.models import ChecklistItem, DowntimeMode, Incident, Report
from yingji.incidents.situation import Deadline
from yingji.notify import channels
from yingji.notify.models import Delivery, Message
from yingji.notify.service import delivery_problems
from yingji.oncall.targets import resolve
from yingji.plans.durations import human_duration
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of
from yingji.reviews import situation_report
from yingji.reviews.models import Evidence, SituationReport

from . import cards, words
from .timeline import QUIET, describe, grade_reason
from .views import with_contacts

# Grades that colour the header, in the order they are shown.
SEVERITY = ("fault_class", "response_level", "duration_level")


@login_required
def incident_page(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("plan_version", "merged_into"), number=number)
    plan = plan_of(incident.plan_version_id)
    entries = list(AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk)
                   .exclude(action__in=QUIET).order_by("id"))
    user: Any = request.user
    now = clock.now()
    rows = situation.deadlines(incident, plan, entries)
    for row in rows:
        row.label = words.word(words.TIMERS, row.timer.kind)  # type: ignore[attr-defined]
    contacts = allowed(user, "see_contacts")
    tasks = _checklists(incident, user, plan)
    wait = situation.activation_wait(incident, plan)
    grades = _grades(incident, plan, entries)
    context = {
        "incident": incident, "plan": plan, "system": plan.system(incident.system), "grades": grades,
        "summary": _summary(incident, plan, entries, rows, grades, wait, now, getattr(user, "department", "")),
        "todos": _todos(incident, plan, user, wait, tasks),
        "more": _more_actions(incident, user),
        "deadline_groups": _deadline_groups(rows, getattr(user, "department", "")),
        "problems": delivery_problems(plan, Delivery.objects.filter(message__incident=incident), contacts),
        "timeline": [describe(e, plan) for e in entries], "tasks": tasks,
        "may_edit": allowed(user, "update_facts") and incident.status not in Incident.ENDED,
        "may_override": allowed(user, "override_grade"),
        "reports": _reports(incident),
        "treatment": plan.treatment_for(incident.fault_class),
        "fault": plan.grading.fault(incident.fault) if incident.fault else None,
        "scopes": Incident.Scope.choices, "causes": Incident.Cause.choices,
        "securities": Incident.Security.choices, "now": now,
        "modes": _modes(incident, plan),
        "may_declare": allowed(user, "declare_mode") and incident.is_open,
        "may_scenario": allowed(user, "scenario"), "scenarios": plan.scenarios,
        "incident_bulletins": with_contacts(incident.bulletins.all()),  # type: ignore[attr-defined]
        "security": incident.security != Incident.Security.NONE or incident.cause == Incident.Cause.SECURITY,
        "evidence": incident.evidence.all(),  # type: ignore[attr-defined]
        "may_evidence": allowed(user, "evidence"), "evidence_kinds": Evidence.Kind.choices,
        "mode_choices": DowntimeMode.Mode.choices,
        "mode_departments": [d for d in plan.departments
                             if getattr(user, "role", "") != "department_lead" or d.code == user.department],
        "notifications": _notifications(incident, plan, contacts),
        # The form is outside the refreshed region: the 15-second refresh need not draft it again.
        "situation": {} if request.headers.get("HX-Request") else _situation_reports(incident, plan, user),
        "cards": cards.cards_for(incident, plan, user),
        "no_channel": _("no channel"), "waiting": _("waiting"),
    }
    template = "web/_incident_live.html" if request.headers.get("HX-Request") else "web/incident.html"
    return render(request, template, context)


def _situation_reports(incident: Incident, plan: Plan, user: Any) -> dict[str, Any]:
    """The reports already sent to the leading group, and for who may send one, a draft of the next."""
    sent = [{"number": r.number, "sent_at": r.sent_at, "sent_by": r.sent_by,
             "contents": [(label, getattr(r, key)) for key, label in SituationReport.CONTENTS]}
            for r in SituationReport.objects.filter(incident=incident)]
    may = allowed(user, "situation_report") and incident.status not in Incident.ENDED
    draft = situation_report.draft(incident, plan) if may else {}
    return {"sent": sent, "may": may,
            "draft": [(key, label, draft.get(key, "")) for key, label in SituationReport.CONTENTS],
            "to": _(", ").join(words.target_name(plan, t) for t in plan.situation_report_targets())}


def _grades(incident: Incident, plan: Plan, entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each scheme's grade with the rule that set it (the latest `incident.graded` entry)."""
    reasons: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.action == "incident.graded":
            reasons[entry.data["scheme"]] = entry.data
    grades = []
    for scheme_name, scheme in plan.grading.schemes():
        code = getattr(incident, scheme_name)
        grade = next((g for g in scheme.grades if g.code == code), None)
        grades.append({"scheme": scheme_name, "scheme_name": scheme.name, "code": code,
                       "name": grade.name if grade else code or "–",
                       "rank": situation.severity_rank(plan, scheme_name, code),
                       "override": incident.grade_overrides.get(scheme_name), "choices": scheme.grades,
                       "reason": reasons.get(scheme_name),
                       "reason_text": grade_reason(reasons[scheme_name], plan) if scheme_name in reasons else ""})
    return grades


def _summary(incident: Incident, plan: Plan, entries: list[AuditEntry],
             rows: list[Deadline], grades: list[dict[str, Any]], wait: situation.ActivationWait | None,
             now: Any, department: str) -> dict[str, Any]:
    severity = [g for g in grades if g["scheme"] in SEVERITY]
    ranks = [g["rank"] for g in severity if g["scheme"] != "duration_level"]
    lead = situation.incident_lead(incident, plan, entries)
    if incident.plan_active:
        plan_state = _("active at %(level)s") % {"level": _level_name(plan, incident.activation_level)}
    elif incident.stood_down_at:
        plan_state = _("stood down at %(t)s") % {"t": f"{timezone.localtime(incident.stood_down_at):%H:%M}"}
    else:
        plan_state = _("not activated")
    waiting = ""
    if wait is not None:
        waiting = _("Waiting for %(who)s to activate the plan at %(level)s.") % {
            "who": _(" or ").join(wait.people) or _("a person with the right to activate"), "level": wait.level_name}
    return {"severity": severity, "rank": min(ranks, default=3),
            "elapsed_text": timesince(incident.reported_at, incident.restored_at or incident.closed_at or now),
            "counting": incident.is_open and not incident.restored_at,
            "lead": lead, "on_it": _(", ").join(p for p in situation.on_it(incident, plan, entries) if p != lead),
            "plan_state": plan_state,
            "next": situation.next_deadline(rows, department) if incident.status not in Incident.ENDED else None,
            "waiting": waiting}


def _level_name(plan: Plan, code: str) -> str:
    return words.grade_name(plan, "response_level", code)


def _action_url(incident: Incident, action: str) -> str:
    return reverse("incident_action", args=[incident.number, action])


def _todo(code: str, text: str, button: str = "", url: str = "", link: str = "", confirm: list[str] | None = None,
          danger: bool = False, reason: bool = False, confirm_button: str = "",
          checks: list[str] | None = None) -> dict[str, Any]:
    return {"code": code, "text": text, "button": button, "url": url, "link": link, "confirm": confirm,
            "danger": danger, "reason": reason, "confirm_button": confirm_button or button, "checks": checks or []}


def _todos(incident: Incident, plan: Plan, user: Any, wait: situation.ActivationWait | None,
           tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What this viewer must do now, most urgent first, each with the one button that does it."""
    todos = []
    mine = situation.my_pages(incident, getattr(user, "person", ""))
    may_acknowledge = actions.may(user, incident, "acknowledge")  # answers the person's own pages too
    if may_acknowledge:
        escalated = next((m for m in mine if m.kind == Message.Kind.ESCALATION), None)
        first = next((m for m in mine if m.kind in (Message.Kind.PAGE, Message.Kind.ESCALATION)), None)
        if escalated:
            text = _("Nobody acknowledged in time, so this was escalated to you at %(t)s: acknowledge that you "
                     "take it.") % {"t": _hm(escalated.created_at)}
        elif first:
            text = _("You were paged at %(t)s: acknowledge, so the chain stops escalating.") % {
                "t": _hm(first.created_at)}
        else:
            text = _("Nobody has taken this incident yet: acknowledge if you take it.")
        todos.append(_todo("acknowledge", text, _("Acknowledge"), _action_url(incident, "acknowledge")))
    if actions.may(user, incident, "arrive"):
        todos.append(_todo("arrive", _("Go on site, then press “On site”: the on-site clock stops and everyone "
                                       "paged is told."), _("On site"), _action_url(incident, "arrive")))
    todos += _activation_todos(incident, plan, user, wait)
    for message in mine:
        if message.task_id is None and not (may_acknowledge and message.kind in (
                Message.Kind.PAGE, Message.Kind.ESCALATION)):
            text = (_("Your page of %(t)s is not acknowledged yet.") if message.kind == Message.Kind.PAGE else
                    _("Your page of %(t)s (%(kind)s) is not acknowledged yet.")) % {
                "t": _hm(message.created_at), "kind": message.get_kind_display()}
            todos.append(_todo("page", text, _("Acknowledge the page"), reverse("page_ack", args=[message.pk])))
    todos += _department_todos(incident, user, tasks)
    if actions.may(user, incident, "restore"):
        todos.append(_todo("restore", _("When the system works again, press “Restored”: reporters are told and "
                                        "the back-entry clock starts."), _("Restored"),
                           _action_url(incident, "restore"), checks=plan.recovery.restore_checks,
                           confirm=[_("Reporters are told it works again; downtime modes end; the back-entry clock "
                                      "starts.")] if plan.recovery.restore_checks else None,
                           confirm_button=_("Yes, it is restored")))
    if actions.may(user, incident, "stand_down"):
        todos.append(_todo("stand_down", _("The plan is still active. Stand it down when the departments can work "
                                           "normally again."), _("Stand down"), _action_url(incident, "stand_down"),
                           confirm=_stand_down_effects(incident, plan), confirm_button=_("Yes, stand the plan down")))
    if actions.may(user, incident, "close"):
        todos.append(_todo("close", _("Everything is back and entered: close the incident."), _("Close"),
                           _action_url(incident, "close"), confirm=[
                               _("The incident is closed: nothing on it can be changed any more."),
                               _("The review and the reports to authorities stay open to finish.")],
                           confirm_button=_("Yes, close it")))
    return todos


def _activation_todos(incident: Incident, plan: Plan, user: Any,
                      wait: situation.ActivationWait | None) -> list[dict[str, Any]]:
    level = incident.response_level
    rule = plan.activation_for(level)
    if rule is not None and actions.may(user, incident, "activate"):
        text = (_("%(level)s asks for the emergency plan to be activated: you decide.") if wait else
                _("%(level)s does not require activating the plan; activate it if the departments must act.")) % {
            "level": _level_name(plan, level)}
        return [_todo("activate", text, _("Activate the plan (%(level)s)…") % {"level": _level_name(plan, level)},
                      _action_url(incident, "activate"), confirm=_activation_effects(incident, plan, rule),
                      danger=True, confirm_button=_("Yes, activate the plan"))]
    if wait is not None and allowed(user, "update_facts"):  # those handling it; the header tells everyone
        asked = (Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST)
                 .order_by("id").values_list("created_at", flat=True).first())
        text = _("At %(level)s only %(who)s may activate the plan.") % {
            "level": wait.level_name, "who": _(" or ").join(wait.people) or _("a person with the right to activate")}
        if asked:
            text += " " + _("They were paged at %(t)s; tell them what you know, this page shows their decision.") % {
                "t": _hm(asked)}
        return [_todo("waiting_activation", text)]
    return []


def _activation_effects(incident: Incident, plan: Plan, rule: Any) -> list[str]:
    """What pressing activate will do, in the plan's names: who is paged, who is tasked, which modes."""
    effects = [_("The emergency plan is activated at %(level)s; the timeline records who did it.") % {
        "level": _level_name(plan, rule.level)}]
    if incident.plan_active:
        effects = [_("The plan, active at %(old)s, is raised to %(level)s without standing it down.") % {
            "old": _level_name(plan, incident.activation_level), "level": _level_name(plan, rule.level)}]
    groups = [group.name for target in rule.notify if target.startswith("group:")
              for group in plan.organization.all_groups() if group.code == target[6:]]
    people = resolve(plan, rule.notify, clock.now())
    if people:
        effects.append(_("Pages %(n)d people: %(groups)s.") % {"n": len(people), "groups": _(", ").join(groups)})
    codes = [d.code for d in plan.departments] if rule.departments == "all" else rule.departments
    departments = [d.name for code in codes if (d := plan.department(code))]
    if departments:
        effects.append(_("Gives %(n)d departments their checklists; each lead must acknowledge within %(limit)s: "
                         "%(names)s.") % {"n": len(departments), "names": _(", ").join(departments),
                                          "limit": human_duration(plan.timers.department_ack)})
    systems = set(incident.systems())
    for switch in plan.timers.modes:
        if systems & set(switch.systems) and incident.scope in switch.scopes:
            at = incident.reported_at + timedelta(seconds=switch.after)
            effects.append(_("%(mode)s for %(departments)s from %(t)s, on its own clock (activating does not change "
                             "it).") % {"mode": DowntimeMode.Mode(switch.mode).label, "t": _hm(at),
                                        "departments": _(", ").join(d.name for code in switch.departments
                                                                    if (d := plan.department(code)))})
    return effects


def _stand_down_effects(incident: Incident, plan: Plan) -> list[str]:
    effects = [_("The plan stops: departments are no longer asked to follow their emergency procedures.")]
    still = [d.name for code in incident.modes.filter(ended_at__isnull=True)  # type: ignore[attr-defined]
             .values_list("department", flat=True) if (d := plan.department(code))]
    if still:
        effects.append(_("Still working without the system: %(names)s. End their modes when they are back.") % {
            "names": _(", ").join(still)})
    if not incident.restored_at:
        effects.append(_("The incident stays open, handled on site, until it is restored."))
    return effects


def _department_todos(incident: Incident, user: Any, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The viewer's own department: acknowledge the activation, tick the checklist, enter records."""
    department = getattr(user, "department", "")
    todos = []
    for task in tasks:
        if not department or task["department"] != department or not task["may_act"]:
            continue
        if not task["acknowledged"]:
            todos.append(_todo("department_ack", _("%(department)s: acknowledge the activation, then work through "
                                                   "your checklist.") % {"department": task["name"]},
                               _("Acknowledge for %(department)s") % {"department": task["name"]},
                               reverse("task_ack", args=[task["pk"]])))
        left = sum(1 for phase in task["phases"] if phase["now"] for item in phase["items"] if not item["done"])
        if left:
            todos.append(_todo("checklist", _("%(department)s: %(n)d items of your checklist are due now.") % {
                "department": task["name"], "n": left}, _("Open the checklist"), link=f"#task-{task['pk']}"))
    if department and incident.modes.filter(department=department).exists():  # type: ignore[attr-defined]
        todos.append(_todo("records", _("Everything written on paper is entered afterwards: enter the records of "
                                        "your department."), _("Manual entry"),
                           link=reverse("record_entry", args=[incident.number])))
    return todos


def _more_actions(incident: Incident, user: Any) -> list[dict[str, Any]]:
    """Rarely right, so not among the things to do: cancelling a report that was no fault."""
    if not actions.may(user, incident, "cancel"):
        return []
    return [_todo("cancel", _("Not a fault after all (a mistake, a duplicate)?"), _("Cancel the incident…"),
                  _action_url(incident, "cancel"), confirm=[
                      _("Its deadlines stop and its bulletins are lowered; nobody else is paged."),
                      _("The reason is kept on the timeline.")], reason=True,
                  confirm_button=_("Yes, cancel the incident"))]


def _deadline_groups(rows: list[Deadline], department: str) -> dict[str, Any]:
    """The incident's own deadlines, then the departments': the viewer's own shown, the rest counted."""
    departments = [d for d in rows if d.timer.kind == "dept_ack"]
    own = [d for d in departments if department and d.department == department]
    others = [d for d in departments if d not in own]
    states = [d.timer.state for d in others]
    return {"incident": [d for d in rows if d.timer.kind != "dept_ack"], "own": own, "others": others,
            "waiting": states.count("pending"), "met": states.count("met"), "late": states.count("fired")}


def _hm(at: Any) -> str:
    return f"{timezone.localtime(at):%H:%M}"


def _reports(incident: Incident) -> list[tuple[str, ...]]:
    """The first 20 reports as plain rows (number, time, where, who, channel, symptom)."""
    channels = {value: str(label) for value, label in Report.Channel.choices}
    rows = incident.reports.values_list(  # type: ignore[attr-defined]
        "number", "reported_at", "location", "reporter_name", "phone", "channel", "symptom")[:20]
    return [(number, f"{timezone.localtime(at):%H:%M:%S}", location, f"{name} {phone}".strip(),
             channels.get(channel, channel), symptom) for number, at, location, name, phone, channel, symptom in rows]


def _checklists(incident: Incident, user: Any, plan: Plan) -> list[dict[str, Any]]:
    """Each department's (and scenario's) checklist by phase, as plain rows for the template,
    with the phase due now marked. Like the notifications, built here because dozens of items
    through model fields, lazy labels and per-item tags were the page's largest cost."""
    now = _phase(incident)
    ended = incident.status in Incident.ENDED  # shown as it was left, with nothing left to press
    labels = {value: str(label) for value, label in ChecklistItem.Phase.choices}
    tick_url = reverse("item_tick", args=[0]).replace("/0/", "/%d/")  # one reverse, not one per item
    items_of: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for task_id, pk, phase, text, owner, done_at, done_by in ChecklistItem.objects.filter(
            task__incident=incident).values_list("task_id", "id", "phase", "text", "owner", "done_at", "done_by"):
        items_of.setdefault(task_id, {}).setdefault(phase, []).append({
            "pk": pk, "text": text, "done": done_at is not None, "url": tick_url % pk,
            "owner": display_name(owner, plan) if owner else "",
            "who": f"{display_name(done_by, plan)} {timezone.localtime(done_at):%H:%M}" if done_at else ""})
    rows = []
    for pk, department, scenario, name, due, acked_at, acked_by in incident.tasks.values_list(  # type: ignore[attr-defined]
            "id", "department", "scenario", "name", "ack_due_at", "acknowledged_at", "acknowledged_by"):
        phases = items_of.get(pk, {})
        if acked_at:
            ack = _("acknowledged %(t)s by %(by)s") % {"t": f"{timezone.localtime(acked_at):%H:%M}",
                                                       "by": display_name(acked_by, plan)}
        elif department and ended:
            ack = _("not acknowledged before the incident ended")
        elif department:
            ack = _("not acknowledged (due %(t)s)") % {"t": f"{timezone.localtime(due):%H:%M}"}
        else:
            ack = ""
        items = [item for group in phases.values() for item in group]
        procedure = plan.scenario(scenario) if scenario else None
        rows.append({"pk": pk, "unit": department or scenario, "department": department,
                     "contacts": escalation.scenario_contacts(incident, plan, procedure) if procedure else [],
                     # A department's lead sees her own checklist open; a procedure (a regional
                     # virus fault: cut the area off) is what the whole incident is about, open for all.
                     "mine": department == getattr(user, "department", "") if department else not ended,
                     "done": sum(1 for item in items if item["done"]), "total": len(items),
                     "name": name, "ack": ack, "acknowledged": acked_at is not None,
                     "may_act": not ended and _may_act_for(user, department),
                     "phases": [{"code": code, "label": labels.get(code, code), "now": code == now and not ended,
                                 "items": group}
                                for code, group in phases.items()]})
    return rows


def _notifications(incident: Incident, plan: Plan, contacts: bool) -> list[dict[str, Any]]:
    """The incident's pages and notices as plain rows, read as tuples: a page holds 100 messages
    and their deliveries, and model instances, lazy labels and template loops for them were the
    largest part of the page's time. A failed delivery's error can quote the address, so only
    roles that page people see it whole."""
    kinds = {value: str(label) for value, label in Message.Kind.choices}
    states = {value: str(label) for value, label in Delivery.State.choices}
    css: dict[str, str] = {Delivery.State.SENT: "restored", Delivery.State.FAILED: "reported"}
    labels: dict[str, str] = {}
    messages = list(incident.messages.order_by("-id").values_list(  # type: ignore[attr-defined]
        "id", "created_at", "kind", "name", "acked_at", "acked_via", "needs_ack")[:100])
    pills: dict[int, list[tuple[str, str, str, str]]] = {}
    for message_id, channel, state, error, address in (Delivery.objects.filter(message_id__in=[m[0] for m in messages])
                                                       .order_by("id").values_list("message_id", "channel", "state",
                                                                                   "last_error", "address")):
        label = labels.get(channel) or labels.setdefault(channel, channels.label(plan, channel))
        pills.setdefault(message_id, []).append((css.get(state, ""), Delivery.shown_error(error, address, contacts),
                                                 label, states.get(state, state)))
    waiting = incident.status not in Incident.ENDED
    return [{"time": f"{timezone.localtime(at):%H:%M:%S}", "kind": kinds.get(kind, kind), "name": name,
             "waiting": needs_ack and waiting,
             "acked": f"{timezone.localtime(acked_at):%H:%M:%S} ({words.word(words.VIA, via)})" if acked_at else "",
             "deliveries": format_html_join(" ", '<span class="pill {}" title="{}">{}: {}</span>', pills.get(pk, []))}
            for pk, at, kind, name, acked_at, via, needs_ack in messages]


def _phase(incident: Incident) -> str:
    """Which part of the department checklists is due now: after recovery once restored, during
    downtime once a department works in a downtime mode, else on activation."""
    if incident.restored_at:
        return ChecklistItem.Phase.AFTER_RECOVERY
    if incident.modes.exists():  # type: ignore[attr-defined]
        return ChecklistItem.Phase.DURING
    return ChecklistItem.Phase.ON_ACTIVATION


def _modes(incident: Incident, plan: Any) -> list[Any]:
    rows = list(incident.modes.all())
    for row in rows:
        department = plan.department(row.department)
        row.department_name = department.name if department else row.department  # type: ignore[attr-defined]
    return rows


def _may_act_for(user: Any, department: str) -> bool:
    if not allowed(user, "tick"):
        return False
    return user.role != "department_lead" or user.department == department


