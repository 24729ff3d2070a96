"""The plan's deadlines on one incident: who is paged, when the next one is, what a breach does.

Actions call the `on_*` functions inside their transaction; the worker fires the timers below.
Every timer is keyed by what it waits for (`incident:7:ack:0`), scheduled `once` so that the
self-audit can re-drive an incident's clocks without starting a finished deadline again, and
settled (met / cancelled, by whom) by the action it waited for. All durations come from the
plan version the incident started under (its snapshot), so a plan revision published during an
incident does not change the escalation in flight.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, override

from yingji.core import audit, clock
from yingji.core.actors import WORKER, Actor, actor_name, display_name
from yingji.core.models import AuditEntry
from yingji.notify import service as notify
from yingji.notify.models import Message
from yingji.oncall.targets import resolve, why_nobody
from yingji.plans.durations import human_duration
from yingji.plans.schema import ExternalContact, Plan, Scenario
from yingji.plans.store import plan_of
from yingji.timers import service as timers

from . import situation
from .models import Bulletin, DepartmentTask, DowntimeMode, Incident

CLOCK_KINDS = ("ack", "on_site", "fix", "mode", "report")


def record(actor: Actor | str, action: str, subject: Incident, /, **data: Any) -> None:
    """Append to the audit chain, which is also the incident's timeline."""
    audit.append(actor_name(actor), action, "incident", subject.pk, data)


def context(incident: Incident, plan: Plan, **extra: Any) -> dict[str, Any]:
    system = plan.system(incident.system)
    level = (plan.grade_name("response_level", incident.response_level) if incident.response_level
             else plan.grade_name("fault_class", incident.fault_class))
    return {"number": incident.number, "system": system.name if system else incident.system,
            "symptom": incident.title, "location": incident.location or "-", "level": level, **extra}


def say(plan: Plan, message: Promise, **params: Any) -> str:
    """A lazy message in the plan's language (not the language of whoever's request runs this)."""
    with override(plan.hospital.language):
        return str(message) % params if params else str(message)


def span(plan: Plan, seconds: int) -> str:
    """A duration as the plan's people say it ("5 分钟"), for what is written to them."""
    with override(plan.hospital.language):
        return human_duration(seconds)


def named(plan: Plan, actor: Actor | str) -> str:
    """Who did it, by name, in the plan's language."""
    with override(plan.hospital.language):
        return display_name(actor_name(actor), plan)


def _page(incident: Incident, plan: Plan, kind: str, targets: list[str], step: int,
          skip: set[str] | None = None) -> list[str]:
    """Page `targets` at a step of the chain. From step 1 on it is an escalation, and says so: the
    person reached knows the ones before did not answer within the acknowledge time."""
    people = [p for p in reach(incident, plan, targets) if p not in (skip or set())]
    ctx = context(incident, plan, deadline=span(plan, plan.timers.acknowledge))
    escalated = kind == Message.Kind.ESCALATION
    if escalated:
        ctx["waited"] = span(plan, plan.timers.acknowledge * step)
    notify.enqueue(incident, kind, people, "escalation" if escalated else "page", ctx, needs_ack=True, step=step)
    record(WORKER, "incident.paged", incident, step=step, targets=targets, people=people, kind=kind)
    return people


def reach(incident: Incident, plan: Plan, targets: list[str]) -> list[str]:
    """The people `targets` name now. A target that reaches nobody (a department without a head, a
    group with nobody in it, a role nobody holds) is not dropped in silence: the office is told,
    once per incident and target, who could not be told and why."""
    people = resolve(plan, targets, clock.now())
    for target in targets:
        if plan.silent_target(target) is None or AuditEntry.objects.filter(
                subject_type="incident", subject_id=incident.pk, action="incident.unreached",
                data__target=target).exists():
            continue
        with override(plan.hospital.language):
            why = why_nobody(plan, target)
        record(WORKER, "incident.unreached", incident, target=target)
        notify.enqueue(incident, Message.Kind.UPDATE, situation.office_people(plan), "update", context(
            incident, plan, event=say(plan, gettext_lazy("Could not tell anyone for %(target)s: %(why)s. Tell them "
                                                         "yourself and name a person in the plan."),
                                      target=why[0], why=why[1])))
    return people


# -- when things happen ---------------------------------------------------------------------


def on_open(incident: Incident) -> None:
    """A new incident: page the first step of its class's chain and start its clocks."""
    plan = plan_of(incident.plan_version_id)
    treatment = plan.treatment_for(incident.fault_class)
    if treatment:
        _page(incident, plan, Message.Kind.PAGE, treatment.page, 0)
    _schedule_ack(incident, plan, 0)
    _schedule_fix(incident, plan)
    on_facts(incident)
    on_level(incident)


def on_level(incident: Incident) -> None:
    """The response level is set or changed: whoever must activate it is asked, and a report it
    owes upward is asked for."""
    request_activation(incident)
    request_level_report(incident)


def on_facts(incident: Incident) -> None:
    """The scope or systems changed: an outage of the systems and scope a mode names starts that
    mode's clock (from the report)."""
    if not incident.is_open:
        return
    plan = plan_of(incident.plan_version_id)
    systems = set(incident.systems())
    for index, switch in enumerate(plan.timers.modes):
        if systems & set(switch.systems) and incident.scope in switch.scopes:
            timers.schedule("mode", f"incident:{incident.pk}:mode:{index}",
                            incident.reported_at + timedelta(seconds=switch.after), incident.pk,
                            {"index": index}, once=True)


def on_class_raised(incident: Incident) -> None:
    """A more severe class pages whoever its treatment names that was not paged yet."""
    plan = plan_of(incident.plan_version_id)
    treatment = plan.treatment_for(incident.fault_class)
    if treatment and incident.status == Incident.Status.REPORTED:
        _page(incident, plan, Message.Kind.PAGE, treatment.page, 0, skip=set(notify.paged_people(incident)))


def request_activation(incident: Incident) -> list[str]:
    """The graded level asks for an activation that only some roles may give (level 1 and 2: the
    commander): page the people who hold them, once per level, saying who must act. Otherwise the
    hand-off waits on somebody noticing that the director's button went away. Returns who."""
    plan = plan_of(incident.plan_version_id)
    wait = situation.activation_wait(incident, plan)
    if wait is None or AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk,
                                                 action="incident.activation_requested",
                                                 data__level=wait.level).exists():
        return []
    targets = [f"role:{role}" for role in sorted(wait.roles)]
    people = reach(incident, plan, targets)
    notify.enqueue(incident, Message.Kind.ACTIVATION_REQUEST, people, "activation_request", context(
        incident, plan, level=wait.level_name, who=say(plan, gettext_lazy(", ")).join(wait.people)),
        needs_ack=True)
    record(WORKER, "incident.activation_requested", incident, level=wait.level, targets=targets, people=people)
    return people


def request_level_report(incident: Incident) -> list[str]:
    """The graded level owes a report upward within a time (seed 001: level 2, to the deputy
    commander within 10 minutes): page who reports, once per level, and start its clock; tell the
    people reported to that it is coming. Returns who must report."""
    plan = plan_of(incident.plan_version_id)
    rule = plan.activation_for(incident.response_level)
    if rule is None or rule.report is None or not incident.is_open or incident.restored_at:
        return []
    key = f"incident:{incident.pk}:report:{incident.response_level}"
    if timers.Timer.objects.filter(key=key).exists():
        return []
    report = rule.report
    level = plan.grade_name("response_level", incident.response_level)
    to = reach(incident, plan, report.to)
    to_names = _names(plan, to)
    people = reach(incident, plan, report.by)
    # The clock first: an acknowledgement finds the level it answers by the clock started before its page.
    timers.schedule("report", key, clock.now() + timedelta(seconds=report.within), incident.pk,
                    {"level": incident.response_level}, once=True)
    notify.enqueue(incident, Message.Kind.LEVEL_REPORT, people, "level_report", context(
        incident, plan, level=level, to=to_names or "-", deadline=span(plan, report.within),
        instruction=report.instruction or ""), needs_ack=True)
    by_names = _names(plan, people)
    notify.enqueue(incident, Message.Kind.UPDATE, [p for p in to if p not in people], "update", context(
        incident, plan, event=say(plan, gettext_lazy("Graded %(level)s: %(who)s reports to you within %(limit)s."),
                                  level=level, who=by_names or "-", limit=span(plan, report.within))))
    record(WORKER, "incident.report_requested", incident, level=incident.response_level, people=people, to=to)
    return people


def _names(plan: Plan, people: list[str]) -> str:
    """People by name, in the plan's language: "张伟, 李卫东"."""
    return say(plan, gettext_lazy(", ")).join(p.name for code in people if (p := plan.person(code)))


def on_level_reported(actor: Actor | str, incident: Incident, level: str) -> None:
    timers.settle(f"incident:{incident.pk}:report:{level}", by=actor_name(actor))


@timers.handler("report")
def _not_reported(timer: timers.Timer) -> None:
    incident = _incident(timer)
    plan = plan_of(incident.plan_version_id)
    rule = plan.activation_for(timer.payload["level"])
    if rule is None or rule.report is None or not incident.is_open:
        return
    _breach(incident, "report", level=timer.payload["level"])
    office = [f"group:{plan.organization.office.code}"]
    tell_breach(incident, plan, [*rule.report.to, *office],
                say(plan, gettext_lazy("Nobody reported %(level)s to the command within %(limit)s."),
                    level=plan.grade_name("response_level", timer.payload["level"]),
                    limit=span(plan, rule.report.within)))


def on_acknowledged(actor: Actor | str, incident: Incident) -> None:
    by = actor_name(actor)
    timers.settle_incident(incident.pk, ("ack",), by=by)
    if mine := _person_of(actor):  # acknowledged in the web UI: the person's own pages count as answered
        # Only the pages that asked to take the incident: a report owed upward is still owed.
        Message.objects.filter(incident=incident, person__in=mine, needs_ack=True, acked_at__isnull=True, task=None,
                               kind__in=(Message.Kind.PAGE, Message.Kind.ESCALATION)).update(
            acked_at=clock.now(), acked_via="web")
    plan = plan_of(incident.plan_version_id)
    timers.schedule("on_site", f"incident:{incident.pk}:on_site",
                    (incident.acknowledged_at or clock.now()) + timedelta(seconds=plan.timers.on_site),
                    incident.pk, once=True)
    _tell(incident, plan, say(plan, gettext_lazy("Acknowledged by %(who)s."), who=named(plan, actor)),
          exclude=_person_of(actor))


def on_arrived(actor: Actor, incident: Incident) -> None:
    timers.settle_incident(incident.pk, ("ack", "on_site"), by=actor_name(actor))


def on_activated(actor: Actor, incident: Incident, notify_targets: list[str], tasks: list[DepartmentTask]) -> None:
    """The plan is started: the fix clock counts as escalated; groups and departments are told."""
    by = actor_name(actor)
    timers.settle_incident(incident.pk, ("ack", "on_site", "fix"), by=by)
    # The requests to activate are answered by activating: they leave the commanders' "my pages".
    Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST, acked_at__isnull=True).update(
        acked_at=clock.now(), acked_via="activated")
    plan = plan_of(incident.plan_version_id)
    already = set(notify.paged_people(incident))
    level = plan.grade_name("response_level", incident.activation_level)
    ctx = context(incident, plan, level=level, deadline=span(plan, plan.timers.department_ack))
    groups = [p for p in reach(incident, plan, notify_targets) if p not in already]
    notify.enqueue(incident, Message.Kind.ACTIVATION, groups, "activation", ctx)
    for task in tasks:
        department = plan.department(task.department)
        if department and department.lead:
            notify.enqueue(incident, Message.Kind.ACTIVATION, [department.lead], "activation", ctx,
                           needs_ack=True, task=task)
        elif department:  # tasked, but nobody to tell: the office hears of it
            reach(incident, plan, [f"department:{department.code}"])
        _schedule_department_ack(task)
    _tell(incident, plan, say(plan, gettext_lazy("The plan is activated: %(level)s."), level=level),
          exclude=_person_of(actor), only=already)
    prompt_if_peak(incident, plan)


def in_peak_hours(plan: Plan, at: datetime) -> bool:
    peak = plan.peak_hours
    local = at.astimezone(plan.hospital.zone())
    return peak is not None and local.isoweekday() in peak.weekdays and peak.start <= local.time() < peak.end


def prompt_if_peak(incident: Incident, plan: Plan) -> None:
    """At peak hours (Mon–Fri 9–11 by default) the office director redeploys staff to keep order:
    tell the office once per incident, when the plan is activated or a department leaves the system."""
    if plan.peak_hours is None or not in_peak_hours(plan, clock.now()):
        return
    if AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk, action="peak.prompted").exists():
        return
    people = sorted(set(situation.office_people(plan)))
    notify.enqueue(incident, Message.Kind.UPDATE, people, "update",
                   context(incident, plan, event=say(plan, gettext_lazy("Peak hours: %(instruction)s"),
                                                     instruction=plan.peak_hours.instruction)))
    record(WORKER, "peak.prompted", incident, people=people)


def scenario_contacts(incident: Incident, plan: Plan, scenario: Scenario) -> list[ExternalContact]:
    """The outside contacts a scenario says to call; with `call_vendor`, the affected systems'
    vendors and every contact that lists one of them (seed 004: notify the software company)."""
    codes = list(scenario.contacts)
    if scenario.call_vendor:
        for code in incident.systems():
            system = plan.system(code)
            codes += [system.vendor] if system and system.vendor else []
            codes += [c.code for c in plan.external_contacts if code in c.systems]
    return plan.contacts(list(dict.fromkeys(codes)))


def scenario_modes(actor: Actor | str, incident: Incident, plan: Plan, scenario: Scenario, reporting: list[str],
                   only_reporting: bool = False) -> None:
    """Put the departments a scenario names into its modes (seed 004: outpatient charging goes
    stand-alone, the other affected departments to paper); `reporting` stands for the departments
    that reported the fault, less those another of its modes names."""
    named = {d for m in scenario.modes if m.departments != "reporting" for d in m.departments}
    now = clock.now()
    for switch in scenario.modes:
        if switch.departments == "reporting":
            departments = [d for d in reporting if d not in named]
        elif only_reporting and not switch.affected_only:
            continue
        else:
            departments = [d for d in switch.departments if not switch.affected_only or d in reporting]
        if departments:
            declare_mode(actor, incident, plan, switch.mode, departments, now)


def on_scenario(incident: Incident, plan: Plan, scenario: Scenario) -> list[str]:
    """Page the scenario's duty chain, with its bulletin and the outside contacts to call."""
    people = reach(incident, plan, scenario.notify)
    contacts = "; ".join(f"{c.name} {c.phone or ''}".strip() for c in scenario_contacts(incident, plan, scenario))
    notify.enqueue(incident, Message.Kind.ACTIVATION, people, "scenario",
                   context(incident, plan, scenario=scenario.name, bulletin=scenario.bulletin or "",
                           lead=scenario.lead or "", contacts=contacts or "-"), needs_ack=True)
    return people


def on_department_acknowledged(actor: Actor | str, task: DepartmentTask) -> None:
    timers.settle(f"task:{task.pk}:ack", by=actor_name(actor))


def on_stood_down(actor: Actor, incident: Incident) -> None:
    timers.settle_incident(incident.pk, ("dept_ack",), timers.Timer.State.CANCELLED, by=actor_name(actor))


def on_restored(actor: Actor, incident: Incident, reporters: list[tuple[str, str]]) -> None:
    """Stop every clock, end the downtime modes, tell everyone paged and every reporter."""
    by, now = actor_name(actor), clock.now()
    timers.settle_incident(incident.pk, ("ack", "on_site", "fix"), by=by)
    timers.settle_incident(incident.pk, ("mode", "dept_ack", "report"), timers.Timer.State.CANCELLED, by=by)
    ended = DowntimeMode.objects.filter(incident=incident, ended_at__isnull=True).update(ended_at=now)
    lower_bulletins(actor, incident, "restore")
    plan = plan_of(incident.plan_version_id)
    if ended or incident.records.exists():  # type: ignore[attr-defined]  # recovery.ManualRecord
        record(actor, "modes.ended", incident, count=ended)
        # What was done on paper must be back-entered and reconciled within the plan's deadline.
        timers.schedule("backentry", backentry_key(incident), now + timedelta(seconds=plan.timers.backentry),
                        incident.pk, once=True)
    local = now.astimezone(plan.hospital.zone()).strftime("%H:%M")
    ctx = context(incident, plan, time=local)
    notify.enqueue(incident, Message.Kind.RESTORED, notify.paged_people(incident), "restored", ctx)
    if reporters:
        notify.enqueue_reporters(incident, reporters, "restored", ctx)


def backentry_key(incident: Incident) -> str:
    return f"incident:{incident.pk}:backentry"


def lower_bulletins(actor: Actor | str, incident: Incident, on: str) -> None:
    """The incident's bulletins come down from every page and the lobby screen."""
    if Bulletin.objects.filter(incident=incident, lowered_at__isnull=True).update(
            lowered_at=clock.now(), lowered_by=actor_name(actor)):
        record(actor, "bulletin.lowered", incident, on=on)


def on_ended(actor: Actor, incident: Incident, how: str) -> None:
    """Cancelled or merged: nothing is waited for any more, and no bulletin stays up for it."""
    timers.settle_incident(incident.pk, (*CLOCK_KINDS, "dept_ack"), timers.Timer.State.CANCELLED,
                           by=actor_name(actor))
    lower_bulletins(actor, incident, how)


def on_duration_upgraded(incident: Incident, level: str) -> None:
    plan = plan_of(incident.plan_version_id)
    _tell(incident, plan, say(plan, gettext_lazy("The outage duration level is now %(level)s."),
                              level=plan.grade_name("duration_level", level)))


def on_escalated(incident: Incident, raised: dict[str, str]) -> None:
    """The fix deadline passed: the director hears it, and so does everyone paged."""
    plan = plan_of(incident.plan_version_id)
    grades = [plan.grade_name(scheme, code) for scheme, code in raised.items()]
    what = say(plan, gettext_lazy("Not fixed within %(limit)s; raised to %(grades)s."),
               limit=span(plan, plan.timers.fix), grades=say(plan, gettext_lazy(", ")).join(grades)) if grades \
        else say(plan, gettext_lazy("Not fixed within %(limit)s."), limit=span(plan, plan.timers.fix))
    people = tell_breach(incident, plan, plan.timers.fix_breach, what)
    _tell(incident, plan, what, exclude=people)


def _person_of(actor: Actor | str) -> list[str]:
    person = getattr(actor, "person", "")
    return [person] if person else []


def _tell(incident: Incident, plan: Plan, event: str, exclude: list[str] | None = None,
          only: set[str] | None = None) -> None:
    """Close the loop: everyone paged so far (or only those in `only`) hears what happened."""
    people = [p for p in notify.paged_people(incident)
              if (only is None or p in only) and p not in (exclude or [])]
    if people:
        notify.enqueue(incident, Message.Kind.UPDATE, people, "update", context(incident, plan, event=event))
        record(WORKER, "incident.loop_closed", incident, event=event)


def tell_breach(incident: Incident, plan: Plan, targets: list[str], what: str) -> list[str]:
    """A deadline passed: the plan's people for that deadline are told; returns who."""
    people = reach(incident, plan, targets)
    notify.enqueue(incident, Message.Kind.BREACH, people, "breach", context(incident, plan, what=what))
    return people


def _schedule_ack(incident: Incident, plan: Plan, step: int) -> None:
    timers.schedule("ack", f"incident:{incident.pk}:ack:{step}",
                    clock.now() + timedelta(seconds=plan.timers.acknowledge), incident.pk, {"step": step}, once=True)


def _schedule_fix(incident: Incident, plan: Plan) -> None:
    timers.schedule("fix", f"incident:{incident.pk}:fix", incident.reported_at + timedelta(seconds=plan.timers.fix),
                    incident.pk, once=True)


def _schedule_department_ack(task: DepartmentTask) -> None:
    timers.schedule("dept_ack", f"task:{task.pk}:ack", task.ack_due_at or clock.now(), task.incident_id,
                    {"task": task.pk}, once=True)


# -- when a deadline passes (run by the worker) ---------------------------------------------


def _breach(incident: Incident, deadline: str, **data: Any) -> None:
    record(WORKER, "timer.breached", incident, deadline=deadline, **data)


def _incident(timer: timers.Timer) -> Incident:
    return Incident.objects.get(pk=timer.incident_id or 0)


@timers.handler("ack")
def _nobody_acknowledged(timer: timers.Timer) -> None:
    """Page the next step of the chain (and wait again), while nobody has acknowledged."""
    incident = _incident(timer)
    if incident.status != Incident.Status.REPORTED:
        return
    plan = plan_of(incident.plan_version_id)
    step = int(timer.payload.get("step", 0))
    _breach(incident, "acknowledge", step=step)
    treatment = plan.treatment_for(incident.fault_class)
    chain = treatment.escalation if treatment else []
    if step < len(chain):
        _page(incident, plan, Message.Kind.ESCALATION, [chain[step]], step + 1,
              skip=set(notify.paged_people(incident)))
        _schedule_ack(incident, plan, step + 1)


@timers.handler("on_site")
def _not_on_site(timer: timers.Timer) -> None:
    incident = _incident(timer)
    if incident.status != Incident.Status.ACKNOWLEDGED:
        return
    plan = plan_of(incident.plan_version_id)
    _breach(incident, "on_site")
    tell_breach(incident, plan, plan.timers.on_site_breach,
                 say(plan, gettext_lazy("Nobody is on site %(limit)s after acknowledging."),
                      limit=span(plan, plan.timers.on_site)))


@timers.handler("mode")
def _declare_mode(timer: timers.Timer) -> None:
    """The core outage lasted long enough: departments switch to stand-alone or paper."""
    incident = _incident(timer)
    plan = plan_of(incident.plan_version_id)
    switch = plan.timers.modes[int(timer.payload["index"])]
    if not incident.is_open or incident.scope not in switch.scopes:  # narrowed since the clock started
        return
    declare_mode(WORKER, incident, plan, switch.mode, switch.departments, clock.now())
    elapsed = span(plan, int((clock.now() - incident.reported_at).total_seconds()))
    mode_name = say(plan, DowntimeMode.Mode(switch.mode).label)
    notify.enqueue(incident, Message.Kind.MODE_SWITCH, reach(incident, plan, switch.notify), "mode_switch",
                   context(incident, plan, mode=mode_name, elapsed=elapsed, instruction=switch.instruction or ""))


def declare_mode(actor: Actor | str, incident: Incident, plan: Plan, mode: str, departments: list[str],
                 now: datetime) -> list[str]:
    """Record the departments now working in `mode`; the board lists them beside the system."""
    open_modes = set(DowntimeMode.objects.filter(incident=incident, ended_at__isnull=True, mode=mode)
                     .values_list("department", flat=True))
    new = [d for d in departments if d not in open_modes]
    if not new:  # a later report from a department already on paper says nothing new
        return []
    DowntimeMode.objects.bulk_create(
        DowntimeMode(incident=incident, system=incident.system, department=d, mode=mode, started_at=now,
                     declared_by=actor_name(actor)) for d in new)
    record(actor, "mode.declared", incident, mode=mode, departments=new)
    prompt_if_peak(incident, plan)
    return new


@timers.handler("dept_ack")
def _department_silent(timer: timers.Timer) -> None:
    task = DepartmentTask.objects.select_related("incident").get(pk=timer.payload["task"])
    incident = task.incident
    if task.acknowledged_at or not incident.plan_active:
        return
    plan = plan_of(incident.plan_version_id)
    _breach(incident, "department_ack", department=task.department)
    tell_breach(incident, plan, plan.timers.department_ack_breach,
                 say(plan, gettext_lazy("%(department)s has not acknowledged the activation within %(limit)s."),
                      department=task.name, limit=span(plan, plan.timers.department_ack)))


def ensure_clocks(incident: Incident) -> int:
    """Self-audit: schedule any clock an open incident should have but lacks. Returns how many."""
    before = timers.Timer.objects.filter(incident=incident).count()
    plan = plan_of(incident.plan_version_id)
    if incident.status == Incident.Status.REPORTED and not timers.Timer.objects.filter(
            incident=incident, kind="ack").exists():
        _schedule_ack(incident, plan, 0)
    _schedule_fix(incident, plan)
    on_facts(incident)
    if incident.plan_active:
        for task in incident.tasks.filter(acknowledged_at__isnull=True, department__gt=""):
            _schedule_department_ack(task)
    return timers.Timer.objects.filter(incident=incident).count() - before


@timers.auditor
def redrive_open_incidents() -> int:
    return sum(ensure_clocks(incident) for incident in Incident.objects.filter(status__in=Incident.OPEN))
