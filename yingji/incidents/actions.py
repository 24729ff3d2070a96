"""Every change to an incident goes through one function here.

Each function checks who may do it and whether the incident is in a state that allows it, then,
in one transaction: changes the rows, appends the hash-chained audit entry (which is also the
incident's timeline), and schedules or settles the timers that follow from it. Views, the API,
the CLI and the worker call these and nothing else that writes.
"""

from __future__ import annotations

import logging
import secrets
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.accounts.models import User
from yingji.accounts.roles import allowed, require
from yingji.core import audit, bulk, clock, groupcommit, numbers
from yingji.core.actors import MONITOR_PREFIX, WORKER, Actor, SystemActor, actor_name
from yingji.core.errors import BadInput, Forbidden, InvalidTransition
from yingji.core.models import AuditEntry
from yingji.notify.models import Message
from yingji.plans.models import PlanVersion
from yingji.plans.schema import Checklist, Plan, Scenario
from yingji.plans.store import plan_of, published
from yingji.recovery.models import ManualRecord, Reconciliation
from yingji.reviews import regulatory
from yingji.timers import service as timers

from . import escalation, grading, situation
from .escalation import record as _log
from .models import Bulletin, ChecklistItem, DepartmentTask, DowntimeMode, Incident, Notice, Report, SystemState

S = Incident.Status
log = logging.getLogger("yingji.incidents")
SCOPE_ORDER = [c.value for c in Incident.Scope]

# From which states each lifecycle action may be taken.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledge": (S.REPORTED,),
    "arrive": (S.REPORTED, S.ACKNOWLEDGED),
    "activate": (S.REPORTED, S.ACKNOWLEDGED, S.ON_SITE, S.ACTIVATED),  # once active: only to raise the level
    "stand_down": (S.ACTIVATED, S.RESTORED),
    "restore": (S.ACKNOWLEDGED, S.ON_SITE, S.ACTIVATED),
    "close": (S.RESTORED,),
    "cancel": (S.REPORTED, S.ACKNOWLEDGED, S.ON_SITE),
    "merge": (S.REPORTED, S.ACKNOWLEDGED, S.ON_SITE),
}


def allowed_transitions(incident: Incident) -> list[str]:
    """What the incident's state allows next (regardless of who asks)."""
    out = []
    for action, states in TRANSITIONS.items():
        if incident.status not in states:
            continue
        if action == "stand_down" and not incident.plan_active:
            continue
        if action == "activate" and incident.plan_active and not raises_activation(incident):
            continue
        if action == "close" and incident.plan_active:
            continue
        out.append(action)
    return out


def raises_activation(incident: Incident, level: str = "") -> bool:
    """The level asked for (by default the graded one) is more severe than the level the plan is
    active at: activating again raises it, tasking the departments the higher level adds."""
    plan = plan_of(incident.plan_version_id)
    wanted = level or incident.response_level
    return bool(wanted) and wanted != incident.activation_level and governing_level(
        plan, wanted, incident.activation_level) == wanted


def governing_level(plan: Plan, *levels: str) -> str:
    """The most severe of the given response levels, in the plan's order (most severe first).

    Who may activate or stand down is decided by the incident's graded level and by the level
    asked for, whichever is higher: otherwise the office could activate a level-2 incident by
    asking for level 3, and then stand it down, without the commander the plan names for level 2.
    """
    order = [g.code for g in plan.grading.response_level.grades]
    known = [level for level in levels if level]
    return min(known, key=lambda level: order.index(level) if level in order else len(order), default="")


def roles_for(incident: Incident, action: str, level: str = "") -> frozenset[str] | None:
    """The plan's narrower rule for this action on this incident, if it has one."""
    plan = plan_of(incident.plan_version_id)
    if action in ("activate", "stand_down"):
        rule = plan.activation_for(governing_level(plan, level, incident.activation_level, incident.response_level))
        if rule:
            return frozenset(rule.activate if action == "activate" else rule.stand_down)
    if action == "close":
        treatment = plan.treatment_for(incident.fault_class)
        if treatment:
            return frozenset(treatment.may_close)
    return None


def may(actor: Actor | None, incident: Incident, action: str) -> bool:
    """Both the role and the state allow it: what the UI offers as buttons."""
    return action in allowed_transitions(incident) and allowed(actor, action, roles_for(incident, action))


# What each action is called in a message to a person (the API's `action` field keeps the code).
ACTION_WORDS = {
    "acknowledge": gettext_lazy("acknowledge"), "arrive": gettext_lazy("mark the engineer on site"),
    "activate": gettext_lazy("activate the plan"), "stand_down": gettext_lazy("stand the plan down"),
    "restore": gettext_lazy("mark it restored"), "close": gettext_lazy("close it"),
    "cancel": gettext_lazy("cancel it"), "merge": gettext_lazy("merge it"),
    "update_facts": gettext_lazy("update its facts"), "override_grade": gettext_lazy("set a grade by hand"),
    "declare_mode": gettext_lazy("declare a downtime mode"), "scenario": gettext_lazy("start a scenario plan"),
}


def _not_now(what: str, incident: Incident, **details: Any) -> InvalidTransition:
    """Refused because of the incident's state, said in words; the details keep the codes."""
    return InvalidTransition(_("Cannot %(action)s: the incident is %(status)s.") % {
        "action": ACTION_WORDS.get(what, what), "status": Incident.Status(incident.status).label},
        status=incident.status, **details)


def _check(actor: Actor, incident: Incident, action: str, roles: frozenset[str] | None = None) -> None:
    if not allowed(actor, action, roles if roles is not None else roles_for(incident, action)):
        raise Forbidden(_("Your role may not %(action)s for this incident.") % {
            "action": ACTION_WORDS.get(action, action)}, action=action)
    if action == "close" and incident.status == S.RESTORED and incident.plan_active:
        # The state allows it; what stands in the way is the plan still running.
        raise InvalidTransition(_("The emergency plan is still active: stand it down before closing."),
                                action=action, status=incident.status, allowed=allowed_transitions(incident))
    if action in TRANSITIONS and action not in allowed_transitions(incident):
        raise _not_now(action, incident, action=action, allowed=allowed_transitions(incident))


def _locked(incident: Incident) -> Incident:
    """Re-read under the write lock, so the checks see the committed state."""
    return Incident.objects.get(pk=incident.pk)


def _locked_open(incident: Incident, action: str) -> Incident:
    """Re-read under the write lock; only an open incident can take `action`."""
    incident = _locked(incident)
    if not incident.is_open:
        raise _not_now(action, incident)
    return incident


# -- grading ------------------------------------------------------------------------------


def facts_of(incident: Incident, plan: Plan, now: datetime) -> grading.Facts:
    systems = incident.systems()
    criticality = {s.criticality for code in systems if (s := plan.system(code))}
    end = incident.restored_at or now
    return grading.Facts(
        systems=frozenset(systems), criticality=frozenset(criticality), scope=incident.scope,
        cause=incident.cause, security=incident.security, fault=incident.fault,
        outage_s=max(0, int((end - incident.reported_at).total_seconds())),
        patients=incident.patients_affected,
    )


def _more_severe(plan: Plan, scheme: str, first: str, second: str | None) -> str:
    """Grades are listed most severe first."""
    codes = [g.code for g in getattr(plan.grading, scheme).grades]
    if not second or second not in codes:
        return first
    return first if first in codes and codes.index(first) <= codes.index(second) else second


def _regrade(actor: Actor | str, incident: Incident, why: str) -> list[str]:
    """Apply the plan's rules; log each change with the rule that caused it; plan the next look."""
    plan = plan_of(incident.plan_version_id)
    now = clock.now()
    facts = facts_of(incident, plan, now)
    changed, before = [], {}
    for scheme, decision in grading.evaluate(plan, facts).items():
        if scheme in incident.grade_overrides:
            continue
        code = _more_severe(plan, scheme, decision.code, incident.raised.get(scheme))
        if getattr(incident, scheme) != code:
            before[scheme] = getattr(incident, scheme)
            setattr(incident, scheme, code)
            changed.append(scheme)
            reason = decision.reason() if code == decision.code else {"raised": "fix deadline passed"}
            _log(actor, "incident.graded", incident, scheme=scheme, before=before[scheme], after=code,
                 why=why, outage_s=facts.outage_s, **reason)
    if changed:
        incident.save(update_fields=changed)
        _set_board(incident)  # a level-1 outage is "down" on the board whatever its scope said
    key = f"incident:{incident.pk}:regrade"
    threshold = grading.next_threshold(plan, facts) if incident.is_open else None
    if threshold is not None:
        timers.schedule("regrade", key, incident.reported_at + timedelta(seconds=threshold), incident.pk)
    else:
        timers.settle(key, timers.Timer.State.CANCELLED)
    if incident.is_open:
        if before.get("fault_class") and _more_severe(plan, "fault_class", incident.fault_class,
                                                      before["fault_class"]) != before["fault_class"]:
            escalation.on_class_raised(incident)
        if before.get("duration_level") and why == "elapsed":
            escalation.on_duration_upgraded(incident, incident.duration_level)
        escalation.on_facts(incident)
        if not incident.restored_at:
            _start_scenarios(incident, plan, facts)
        if "response_level" in changed and why != "reported":  # on open, escalation.on_open asks
            escalation.on_level(incident)
    regulatory.ensure_reports(incident)  # a grade or security flag may now owe a report to an authority
    return changed


@timers.handler("regrade")
def _regrade_timer(timer: timers.Timer) -> None:
    incident = Incident.objects.get(pk=timer.incident_id or 0)
    if incident.is_open:
        _regrade(WORKER, incident, "elapsed")


@timers.handler("fix")
def _not_fixed(timer: timers.Timer) -> None:
    """Not fixed (nor escalated by activation) in time: the fix_breach people are told, and the
    grades the plan's `timers.fix_escalation` names are raised (a level-3 incident to level 2)."""
    incident = Incident.objects.get(pk=timer.incident_id or 0)
    if not incident.is_open or incident.status == S.RESTORED:
        return
    plan = plan_of(incident.plan_version_id)
    new = {rule.scheme: rule.raise_to for rule in plan.timers.fix_escalation
           if getattr(incident, rule.scheme) == rule.grade and rule.scheme not in incident.grade_overrides}
    _log(WORKER, "timer.breached", incident, deadline="fix")
    if new:
        incident.raised = {**incident.raised, **new}
        incident.save(update_fields=["raised"])
        _log(WORKER, "incident.escalated", incident, raised=new)
        _regrade(WORKER, incident, "fix deadline passed")
    escalation.on_escalated(incident, {scheme: getattr(incident, scheme) for scheme in new})


# -- reporting ----------------------------------------------------------------------------


@dataclass
class Intake:
    incident: Incident
    report: Report
    merged: bool


def _local_day(plan: Plan, at: datetime) -> str:
    return at.astimezone(zoneinfo.ZoneInfo(plan.hospital.timezone)).strftime("%Y%m%d")


def _text(field: str, value: str | None, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BadInput(field, _("This field is required."))
    if len(value) > limit:
        raise BadInput(field, _("At most %(n)d characters.") % {"n": limit})
    return value


def _checked_report(actor: Actor, *, system: str, symptom: str, location: str = "", phone: str = "",
                    reporter_name: str = "", department: str = "", patients_affected: int = 0,
                    security_suspected: bool = False, scope: str = "", channel: str = Report.Channel.WEB,
                    fault: str = "") -> Report:
    """A fault report checked against the role and the published plan, not yet stored; raises
    Forbidden or BadInput naming the field, before anything is written."""
    if not allowed(actor, "phone_report" if channel == Report.Channel.PHONE else "report"):
        raise Forbidden(_("Your role may not report faults."), action="report")
    current = published()
    if current is None:
        raise BadInput("system", _("No plan is published yet; import one with `yingji plan import`."))
    version_id, plan = current
    if plan.system(system) is None:
        raise BadInput("system", _("Unknown system %(code)s; choose one of: %(codes)s") % {
            "code": system, "codes": ", ".join(s.code for s in plan.systems)})
    symptom = _text("symptom", symptom, 500, required=True)
    location = _text("location", location, 200)
    phone = _text("phone", phone, 30)
    reporter_name = _text("reporter_name", reporter_name, 100)
    if department and plan.department(department) is None:
        raise BadInput("department", _("Unknown department %(code)s.") % {"code": department})
    if scope and scope not in SCOPE_ORDER:
        raise BadInput("scope", _("Scope must be one of: %(v)s") % {"v": ", ".join(SCOPE_ORDER)})
    if not isinstance(patients_affected, int) or patients_affected < 0:
        raise BadInput("patients_affected", _("Must be a whole number, 0 or more."))
    fault = _fault(plan, fault)
    user = actor if isinstance(actor, User) else None
    return Report(
        plan_version_id=version_id, actor=actor_name(actor), system=system, symptom=symptom, location=location,
        phone=phone, reporter_name=reporter_name or (user.get_full_name() if user else ""),
        department=department or (user.department if user else ""),
        patients_affected=patients_affected, security_suspected=security_suspected, scope=scope, fault=fault,
        channel=channel, user=user, logged_by=actor_name(actor) if channel == Report.Channel.PHONE else "",
        reported_at=clock.now(),
    )


def _store(report: Report) -> Report:
    """Give a checked report its reference number and access key, and keep it (in writing())."""
    day = _local_day(plan_of(report.plan_version_id or 0), report.reported_at)
    report.number = f"R{day}-{audit.next_number('report:' + day):04d}"
    report.access_key = secrets.token_urlsafe(16)
    bulk.insert_one(report)  # what save() does, without compiling the INSERT for every report
    return report


def accept_report(actor: Actor, **fields: Any) -> Report:
    """The form's and the API's intake: check, store, answer. The reporter has the reference and
    the `/r/<key>` page at once; the worker merges, grades and pages (`merge_pending`), so a storm
    of reports costs each reporter one short append, shared with the reports arriving with it."""
    report = _checked_report(actor, **fields)
    return groupcommit.appends.run(lambda: _store(report))


def report_fault(actor: Actor, **fields: Any) -> Intake:
    """Store a report and merge it at once, in one transaction: for callers already in the
    worker or on the command line (a monitor's alert group, `yingji`, tests)."""
    report = _checked_report(actor, **fields)
    with audit.writing():
        return _merge(_store(report))


MERGE_BATCH = 500  # at most; MERGE_BUDGET_S usually ends a batch first
MERGE_BUDGET_S = 0.03  # how long one merge transaction may hold the write lock


@timers.step
def merge_pending(limit: int = MERGE_BATCH, budget_s: float = MERGE_BUDGET_S) -> int:
    """The worker's step: merge stored reports in arrival order, a short transaction at a time, so
    that the form and the API keep answering while a storm is merged. A report whose merge fails
    for a reason other than the database keeps its error and stays listed; the rest go on."""
    waiting = Report.objects.filter(incident__isnull=True, merge_error="")
    if not waiting.exists():
        return 0
    done, deadline = 0, time.monotonic() + budget_s
    with audit.writing():
        joins = _Joins()
        for report in waiting.order_by("id")[:limit]:
            if not joins.take(report):
                joins.flush()
                joins.known(_merge_alone(report))
            done += 1
            if time.monotonic() > deadline:
                break
        joins.flush()
    return done


def stuck_reports(limit: int = 50) -> list[Report]:
    """Reports whose merge failed (kept, never lost): the incident list shows them to those who
    may send them on again, oldest first, since each is a fault nobody has been paged for."""
    return list(Report.objects.filter(incident__isnull=True).exclude(merge_error="").order_by("id")[:limit])


def retry_report(actor: Actor, report: Report) -> bool:
    """Send a report whose merge failed back to the worker (once the cause is fixed, such as a
    plan published again); False when it was not waiting any more."""
    require(actor, "retry_report")
    with audit.writing():
        retried = bool(Report.objects.filter(pk=report.pk, incident__isnull=True).exclude(merge_error="")
                       .update(merge_error=""))
        if retried:
            audit.append(actor_name(actor), "report.retried", "report", report.pk,
                         {"report": report.number, "error": report.merge_error})
    return retried


def _merge_alone(report: Report) -> Incident | None:
    """Merge one report in its own savepoint; a fault of the report's own is kept on it."""
    try:
        with transaction.atomic():
            return _merge(report).incident
    except DatabaseError:
        raise  # the database is at fault: the whole batch is tried again next round
    except Exception as exc:
        log.exception("report %s could not be merged", report.number)
        Report.objects.filter(pk=report.pk).update(merge_error=f"{type(exc).__name__}: {exc}"[:2000])
        return None


class _Joins:
    """Reports that only join an incident this batch already merged into, written together.

    In a storm nearly every report adds one to an open incident and says nothing new: it costs a
    lookup, three updates and an audit read and insert when merged alone, with the web's writers
    waiting on the lock. Under the batch's write lock nothing else changes these incidents, so a
    report that is inside the merge window and widens nothing is collected, and the collected
    reports cost a few statements in all. Anything else goes through `_merge`, in order."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident | None] = {}  # by system: the one to join, None: none
        self.pending: list[tuple[Report, Incident]] = []

    def known(self, incident: Incident | None) -> None:
        if incident is not None:  # as it is now, after the grading and paging its merge did
            self.incidents[incident.system] = Incident.objects.get(pk=incident.pk)

    def take(self, report: Report) -> bool:
        plan = plan_of(report.plan_version_id or 0)
        if report.system not in self.incidents:
            self.incidents[report.system] = _joinable(report.system, plan, report.reported_at)
        incident = self.incidents[report.system]
        if incident is None or not incident.is_open or incident.last_report_at is None:
            return False
        if (incident.last_report_at < report.reported_at - timedelta(seconds=plan.intake.merge_window)
                or _widening(incident, report.scope, report.patients_affected, report.security_suspected,
                             report.fault)):
            return False
        incident.reports_count += 1
        incident.last_report_at = max(incident.last_report_at, report.reported_at)
        self.pending.append((report, incident))
        return True

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        try:
            with transaction.atomic():
                self._write(pending)
        except DatabaseError:
            raise
        except Exception:
            log.exception("reports %s to %s could not be joined together; merging them one by one",
                          pending[0][0].number, pending[-1][0].number)
            self.incidents.clear()  # their counts in memory were not written
            for report, _incident in pending:
                _merge_alone(report)

    @staticmethod
    def _write(pending: list[tuple[Report, Incident]]) -> None:
        by_incident: dict[int, tuple[Incident, list[int]]] = {}
        for report, incident in pending:
            by_incident.setdefault(incident.pk, (incident, []))[1].append(report.pk)
        for incident, ids in by_incident.values():
            Incident.objects.filter(pk=incident.pk).update(reports_count=F("reports_count") + len(ids),
                                                           last_report_at=incident.last_report_at)
            Report.objects.filter(pk__in=ids).update(incident=incident, joined=True)
        audit.append_many((_reporter(report), "report.received", "incident", incident.pk,
                           _received(report, merged=True)) for report, incident in pending)
        departments: dict[tuple[int, str], tuple[str, Incident]] = {}
        for report, incident in pending:
            if report.department:
                departments.setdefault((incident.pk, report.department), (_reporter(report), incident))
        for (_pk, department), (actor, incident) in departments.items():
            _reported_from(actor, incident, plan_of(incident.plan_version_id), department)


def _reporter(report: Report) -> str:
    """Who the timeline says told a stored report: its actor as stored, a form without login anonymous."""
    return report.actor or "anonymous"


def _received(report: Report, merged: bool) -> dict[str, Any]:
    """What the timeline keeps of a report as it is merged."""
    return {"report": report.number, "channel": report.channel, "merged": merged, "location": report.location,
            "department": report.department}


def _merge(report: Report) -> Intake:
    """Join the open incident on the report's system whose last report is within the merge
    window, or open one; under the write lock, so a storm makes exactly one incident. The
    report's own time counts, not the merge's: the plan's clocks start when the fault was told."""
    plan = plan_of(report.plan_version_id or 0)
    actor, now = _reporter(report), report.reported_at
    incident = _joinable(report.system, plan, now)
    merged = incident is not None
    if incident is None:
        day = _local_day(plan, now)
        incident = Incident.objects.create(
            number=f"YJ{day}-{audit.next_number('incident:' + day):03d}",
            plan_version_id=report.plan_version_id or 0, system=report.system, title=report.symptom,
            location=report.location, scope=report.scope or Incident.Scope.TERMINAL,
            patients_affected=report.patients_affected, security_suspected=report.security_suspected,
            reports_count=1, reported_at=now, last_report_at=now, fault=report.fault,
            cause=_cause_of(plan, report.fault, Incident.Cause.UNKNOWN),
        )
        _log(actor, "incident.opened", incident, number=incident.number, system=report.system,
             plan_version=report.plan_version_id, symptom=report.symptom, location=report.location)
        _regrade(actor, incident, "reported")
        _set_board(incident)
        escalation.on_open(incident)
    else:
        widened = _widen(incident, plan, report.scope, report.patients_affected, report.security_suspected,
                         report.fault)
        latest = max(incident.last_report_at or now, now)
        Incident.objects.filter(pk=incident.pk).update(reports_count=F("reports_count") + 1, last_report_at=latest)
        incident.reports_count += 1
        incident.last_report_at = latest
        if widened:
            _regrade(actor, incident, "report")
            _set_board(incident)
    report.incident, report.joined = incident, merged
    report.save(update_fields=["incident", "joined"])
    _log(actor, "report.received", incident, **_received(report, merged))
    _reported_from(actor, incident, plan, report.department)  # a scenario started on open counts it too
    return Intake(incident, report, merged)


def _joinable(system: str, plan: Plan, at: datetime) -> Incident | None:
    """The open incident on the system whose last report is within the plan's merge window of `at`."""
    return (Incident.objects
            .filter(system=system, status__in=Incident.OPEN,
                    last_report_at__gte=at - timedelta(seconds=plan.intake.merge_window))
            .order_by("-last_report_at").first())


def _fault(plan: Plan, code: str) -> str:
    if code and plan.grading.fault(code) is None:
        raise BadInput("fault", _("Must be one of: %(v)s") % {
            "v": ", ".join(f"{f.code} ({f.name})" for f in plan.grading.faults)})
    return code


def _cause_of(plan: Plan, fault: str, cause: str, previous: str = "") -> str:
    """A named fault says its cause (a deleted price list: software) when the cause is not yet known
    or was only what the previously named fault said: correcting "switch" to "local database"
    makes it a database fault, but a cause the engineer set stays."""
    named = plan.grading.fault(fault) if fault else None
    before = plan.grading.fault(previous) if previous else None
    if named is not None and (cause == Incident.Cause.UNKNOWN or (before is not None and cause == before.cause)):
        return named.cause
    return cause


def _widening(incident: Incident, scope: str, patients: int, security_suspected: bool,
              fault: str = "") -> dict[str, Any]:
    """What a later report adds to what is known, field by field: it can only widen it (a larger
    scope, more patients, a security flag, a named fault where none was named)."""
    changes: dict[str, Any] = {}
    if fault and not incident.fault:
        changes["fault"] = fault
    if scope and SCOPE_ORDER.index(scope) > SCOPE_ORDER.index(incident.scope):
        changes["scope"] = scope
    if patients > incident.patients_affected:
        changes["patients_affected"] = patients
    if security_suspected and not incident.security_suspected:
        changes["security_suspected"] = True
    return changes


def _widen(incident: Incident, plan: Plan, scope: str, patients: int, security_suspected: bool,
           fault: str = "") -> bool:
    changes = _widening(incident, scope, patients, security_suspected, fault)
    if "fault" in changes:
        changes["cause"] = _cause_of(plan, fault, incident.cause)
    for name, value in changes.items():
        setattr(incident, name, value)
    if changes:
        incident.save(update_fields=list(changes))
    return bool(changes)


def _set_board(incident: Incident) -> None:
    """Show the system as down (or degraded for a local fault) while the incident is open, since the
    outage began. The board shows the system's own state: departments working on paper are listed
    beside it, they do not replace it (nor restart its clock)."""
    if incident.is_open:
        plan = plan_of(incident.plan_version_id)
        severest = (incident.fault_class == plan.grading.fault_class.grades[0].code
                    or incident.response_level == plan.grading.response_level.grades[0].code)
        status = (SystemState.Status.DOWN if severest or incident.scope in ("partial", "hospital")
                  else SystemState.Status.DEGRADED)
        SystemState.objects.filter(code=incident.system).exclude(status=status, incident=incident).update(
            status=status, since=incident.reported_at, incident=incident)
        return
    still_open = (Incident.objects.filter(system=incident.system, status__in=Incident.OPEN)
                  .exclude(pk=incident.pk).order_by("reported_at").first())
    if still_open:
        _set_board(still_open)
    else:
        SystemState.objects.filter(code=incident.system).update(
            status=SystemState.Status.UP, since=clock.now(), incident=None)


def sync_systems(version: PlanVersion) -> None:
    """Keep one board row per system of the published plan (called by plans.actions.publish)."""
    plan = plan_of(version.pk)
    codes = []
    for position, system in enumerate(plan.systems):
        codes.append(system.code)
        SystemState.objects.update_or_create(code=system.code, defaults={
            "name": system.name, "criticality": system.criticality, "position": position, "in_plan": True})
    SystemState.objects.exclude(code__in=codes).update(in_plan=False)


# -- lifecycle ----------------------------------------------------------------------------


def acknowledge(actor: Actor, incident: Incident) -> Incident:
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "acknowledge")
        _acknowledged(actor, incident)
    return incident


def _acknowledged(actor: Actor | str, incident: Incident, **data: Any) -> None:
    incident.status, incident.acknowledged_at = S.ACKNOWLEDGED, clock.now()
    incident.save(update_fields=["status", "acknowledged_at"])
    _log(actor, "incident.acknowledged", incident, **data)
    escalation.on_acknowledged(actor, incident)


def _report_level(incident: Incident, message: Message) -> str:
    """The level a report page asked about: the one its clock was started for at that moment."""
    timer = (timers.Timer.objects.filter(incident=incident, kind="report", created_at__lte=message.created_at)
             .order_by("-created_at").first())
    return str(timer.payload.get("level", "")) if timer else incident.response_level


def acknowledge_message(actor: Actor | str, message: Message, via: str,
                        origin: dict[str, str] | None = None) -> Message:
    """A page acknowledged from its signed link or the API.

    The signed link is the authority (a paged director need not have a login), so pressing its
    button needs no role; the entry names the person whose link it was, the signed-in user who
    pressed it if any, and the address and browser it came from. Anywhere else only the person
    paged, or the office, may acknowledge. Pressing twice changes nothing. Acknowledging a page
    acknowledges the incident if nobody has yet and the person paged is one who takes incidents
    (not the dean reading his class-I page); an activation notice acknowledges the department.
    """
    if via != "link" and isinstance(actor, User) and actor.role != "office" \
            and not (actor.person and actor.person == message.person):
        raise Forbidden(_("Only the person paged, or the office, may acknowledge this page."), action="acknowledge")
    with audit.writing():
        message = Message.objects.select_related("incident", "task").get(pk=message.pk)
        incident = message.incident
        if message.acked_at or incident is None:
            return message
        message.acked_at, message.acked_via = clock.now(), via
        message.save(update_fields=["acked_at", "acked_via"])
        who = actor_name(actor)
        _log(who, "page.acknowledged", incident, person=message.person, name=message.name, via=via,
             kind=message.kind, **(origin or {}))
        if message.task is not None:
            if not message.task.acknowledged_at:
                _department_acknowledged(who, message.task)
        elif message.kind == Message.Kind.LEVEL_REPORT:
            level = _report_level(incident, message)
            _log(who, "incident.level_reported", incident, person=message.person, level=level)
            escalation.on_level_reported(who, incident, level)
        elif message.kind in (Message.Kind.PAGE, Message.Kind.ESCALATION) and incident.status == S.REPORTED \
                and situation.takes_incidents(plan_of(incident.plan_version_id), message.person):
            _acknowledged(who, incident, via=via, person=message.person)
    return message


def arrive(actor: Actor, incident: Incident) -> Incident:
    """The engineer is on site. Arriving without having pressed acknowledge counts as both."""
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "arrive")
        now = clock.now()
        incident.acknowledged_at = incident.acknowledged_at or now
        incident.status, incident.on_site_at = S.ON_SITE, now
        incident.save(update_fields=["status", "acknowledged_at", "on_site_at"])
        _log(actor, "incident.on_site", incident)
        escalation.on_arrived(actor, incident)
    return incident


def activate(actor: Actor, incident: Incident, level: str = "") -> Incident:
    """Start the plan at a response level (the graded one unless `level` says otherwise), or raise
    an active plan to a more severe level without standing it down: the departments the higher
    level adds get their checklists and the groups it adds are paged. Department tasks and
    checklists come from the plan."""
    with audit.writing():
        incident = _locked(incident)
        plan = plan_of(incident.plan_version_id)
        level = level or incident.response_level
        rule = plan.activation_for(level)
        if rule is None:
            raise BadInput("level", _("The plan has no activation rule for level %(level)s.") % {"level": level})
        _check(actor, incident, "activate", roles_for(incident, "activate", level))
        raised_from = incident.activation_level if incident.plan_active else ""
        if raised_from and not raises_activation(incident, level):
            raise InvalidTransition(_("The plan is already active at this level or a higher one."),
                                    action="activate", status=incident.status, allowed=allowed_transitions(incident))
        now = clock.now()
        incident.status, incident.plan_active = S.ACTIVATED, True
        incident.activation_level, incident.activated_at = level, incident.activated_at if raised_from else now
        incident.save(update_fields=["status", "plan_active", "activation_level", "activated_at"])
        created = _create_tasks(incident, plan, rule.departments, now)
        _log(actor, "incident.activated", incident, level=level, departments=created,
             **({"raised_from": raised_from} if raised_from else {}))
        escalation.on_activated(actor, incident, rule.notify,
                                list(DepartmentTask.objects.filter(incident=incident, department__in=created)))
    return incident


def _create_tasks(incident: Incident, plan: Plan, departments: list[str] | str, now: datetime) -> list[str]:
    codes = [d.code for d in plan.departments] if departments == "all" else list(departments)
    ack_due = now + timedelta(seconds=plan.timers.department_ack)
    created = []
    for code in codes:
        dept = plan.department(code)
        procedure = plan.procedure_for(code)
        task, new = DepartmentTask.objects.get_or_create(
            incident=incident, department=code, scenario="",
            defaults={"name": dept.name if dept else code, "ack_due_at": ack_due})
        if new and procedure:
            _copy_checklist(task, procedure.checklist)
        if new:
            created.append(code)
    facts = facts_of(incident, plan, now)
    for scenario in plan.scenarios:
        if any(grading.matches(cond, facts) for cond in scenario.applies_when):
            _scenario_task(incident, scenario)
    return created


def _scenario_task(incident: Incident, scenario: Scenario) -> DepartmentTask:
    task, new = DepartmentTask.objects.get_or_create(
        incident=incident, department="", scenario=scenario.code, defaults={"name": scenario.name})
    if new:
        _copy_checklist(task, scenario.checklist)
    return task


def _copy_checklist(task: DepartmentTask, checklist: Checklist) -> None:
    ChecklistItem.objects.bulk_create(
        ChecklistItem(task=task, phase=item.phase, position=item.position, text=item.text, owner=item.owner or "")
        for item in checklist.items())


def stand_down(actor: Actor, incident: Incident) -> Incident:
    """End the plan's activation. Before restore the incident goes back to on-site handling."""
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "stand_down")
        incident.plan_active, incident.stood_down_at = False, clock.now()
        if incident.status == S.ACTIVATED:
            incident.status = S.ON_SITE
        incident.save(update_fields=["plan_active", "stood_down_at", "status"])
        _log(actor, "incident.stood_down", incident, level=incident.activation_level)
        escalation.on_stood_down(actor, incident)
    return incident


def restore(actor: Actor, incident: Incident, note: str = "", checks: list[int] | None = None,
            by_monitor: bool = False) -> Incident:
    """The system works again: the board turns green and every linked reporter is told. The
    engineer first confirms each of the plan's restore checks (a full test, data from backup).

    `by_monitor`: a monitor whose every alert resolved restores an incident only monitors reported,
    where the plan says so (`monitoring.resolve_restores`), also before anyone acknowledged it (a
    flap). No person confirmed the checks, and the chain says which were left unconfirmed."""
    with audit.writing():
        incident = _locked(incident)
        if by_monitor and not (isinstance(actor, SystemActor) and actor.name.startswith(MONITOR_PREFIX)):
            raise Forbidden(_("Only a monitor restores by itself."), action="restore")
        if not (by_monitor and incident.status == S.REPORTED):
            _check(actor, incident, "restore")
        required = plan_of(incident.plan_version_id).recovery.restore_checks
        missing = [text for i, text in enumerate(required) if i not in set(checks or [])]
        if missing and not by_monitor:
            raise BadInput("checks", _("Confirm each check before marking it restored: %(checks)s") % {
                "checks": _("; ").join(text.rstrip("。.") for text in missing)})
        now = clock.now()
        incident.status, incident.restored_at = S.RESTORED, now
        incident.save(update_fields=["status", "restored_at"])
        confirmed = [text for text in required if text not in missing]
        _log(actor, "incident.restored", incident, note=_text("note", note, 2000), checks=confirmed,
             **({"unconfirmed": missing} if by_monitor else {}))
        _regrade(actor, incident, "restored")
        escalation.on_restored(actor, incident, _tell_reporters(incident, now))
        regulatory.on_handling_ended(incident)
        _set_board(incident)
    return incident


def _tell_reporters(incident: Incident, now: datetime) -> list[tuple[str, str]]:
    """In-app notices now; returns (name, phone) of reporters who left a phone, for an SMS."""
    reports = Report.objects.filter(incident__in=[incident, *incident.merged_incidents.all()],
                                    told_restored_at__isnull=True)
    user_ids = set(reports.exclude(user=None).values_list("user_id", flat=True))
    phones = dict(reports.exclude(phone="").values_list("phone", "reporter_name"))
    told = reports.update(told_restored_at=now)
    Notice.objects.bulk_create(Notice(user_id=uid, incident=incident, kind="restored", created_at=now)
                               for uid in user_ids)
    _log(WORKER, "reporters.told", incident, reports=told, users=len(user_ids), phones=len(phones))
    return [(name, phone) for phone, name in phones.items()]


def close(actor: Actor, incident: Incident, note: str = "") -> Incident:
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "close")
        unsigned = _backentry_unsigned(incident)
        if unsigned:
            plan = plan_of(incident.plan_version_id)
            names = [d.name if (d := plan.department(code)) else code for code in unsigned]
            raise InvalidTransition(
                _("Back-entry is not signed off for: %(departments)s. Close after reconciliation.")
                % {"departments": ", ".join(names)}, action="close", status=incident.status, unsigned=unsigned)
        incident.status, incident.closed_at = S.CLOSED, clock.now()
        incident.save(update_fields=["status", "closed_at"])
        _log(actor, "incident.closed", incident, note=_text("note", note, 2000))
    return incident


def _backentry_unsigned(incident: Incident) -> list[str]:
    """Departments whose paper records are not yet reconciled and signed: the incident is not over
    for them (back-entry, charges and 医保 settlement come before the file is closed)."""
    departments = set(ManualRecord.objects.filter(incident=incident).values_list("department", flat=True))
    signed = {r.department for r in Reconciliation.objects.filter(incident=incident, department__in=departments)
              if r.signed_off}
    return sorted(departments - signed)


def cancel(actor: Actor, incident: Incident, reason: str) -> Incident:
    """Not a fault after all (a user error, a duplicate by phone). The reason is kept."""
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "cancel")
        reason = _text("reason", reason, 2000, required=True)
        incident.status, incident.closed_at = S.CANCELLED, clock.now()
        incident.save(update_fields=["status", "closed_at"])
        _log(actor, "incident.cancelled", incident, reason=reason)
        escalation.on_ended(actor, incident, "cancel")
        _regrade(actor, incident, "cancelled")
        _set_board(incident)
    return incident


def merge(actor: Actor, incident: Incident, into: Incident) -> Incident:
    """Fold a duplicate incident into another: its reports follow, so its reporters are told too."""
    with audit.writing():
        incident = _locked(incident)
        into = Incident.objects.get(pk=into.pk)
        _check(actor, incident, "merge")
        if into.pk == incident.pk or into.status in Incident.ENDED:
            raise BadInput("into", _("Merge into a different incident that is still going."))
        moved = Report.objects.filter(incident=incident).update(incident=into)
        Incident.objects.filter(pk=into.pk).update(reports_count=F("reports_count") + moved)
        incident.status, incident.merged_into, incident.closed_at = S.MERGED, into, clock.now()
        incident.reports_count = 0
        incident.save(update_fields=["status", "merged_into", "closed_at", "reports_count"])
        _log(actor, "incident.merged", incident, into=into.number, reports=moved)
        _log(actor, "incident.absorbed", into, incident=incident.number, reports=moved)
        escalation.on_ended(actor, incident, "merge")
        _regrade(actor, incident, "merged")
        _set_board(incident)
    return into


LIFECYCLE = ("acknowledge", "arrive", "activate", "stand_down", "restore", "close", "cancel")


def perform(actor: Actor, incident: Incident, action: str, *, note: str = "", level: str = "",
            reason: str = "", checks: list[int] | None = None) -> Incident:
    """One lifecycle action by name, for the API and the web buttons alike."""
    match action:
        case "acknowledge":
            return acknowledge(actor, incident)
        case "arrive":
            return arrive(actor, incident)
        case "activate":
            return activate(actor, incident, level)
        case "stand_down":
            return stand_down(actor, incident)
        case "restore":
            return restore(actor, incident, note, checks)
        case "close":
            return close(actor, incident, note)
        case "cancel":
            return cancel(actor, incident, reason)
    raise LookupError(action)


FACT_FIELDS = ("scope", "cause", "fault", "security", "patients_affected", "extra_systems", "location", "title")


def update_facts(actor: Actor, incident: Incident, **changes: Any) -> Incident:
    """What the engineer learns on site; grades follow at once."""
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "update_facts")
        if incident.status in Incident.ENDED:
            raise InvalidTransition(_("This incident is finished."), status=incident.status, allowed=[])
        plan = plan_of(incident.plan_version_id)
        before, after = {}, {}
        for field, value in changes.items():
            if field not in FACT_FIELDS:
                raise BadInput(field, _("Unknown field."))
            value = _clean_fact(plan, field, value)
            if getattr(incident, field) != value:
                before[field], after[field] = getattr(incident, field), value
                setattr(incident, field, value)
        if "fault" in after and "cause" not in after and (
                cause := _cause_of(plan, incident.fault, incident.cause, before["fault"])) != incident.cause:
            before["cause"], after["cause"], incident.cause = incident.cause, cause, cause
        if after:
            incident.save(update_fields=list(after))
            _log(actor, "incident.facts", incident, before=before, after=after)
            _regrade(actor, incident, "facts")
            _set_board(incident)
    return incident


PATIENTS_MAX = 10_000_000  # within every database's integer column; more is a typo


def _clean_fact(plan: Plan, field: str, value: Any) -> Any:
    choices = {"scope": Incident.Scope, "cause": Incident.Cause, "security": Incident.Security}
    if field in choices:
        if value not in choices[field].values:
            raise BadInput(field, _("Must be one of: %(v)s") % {"v": ", ".join(choices[field].values)})
        return value
    if field == "fault":
        return _fault(plan, str(value or ""))
    if field == "patients_affected":
        return numbers.whole(value, field, high=PATIENTS_MAX) or 0
    if field == "extra_systems":
        codes = list(value or [])
        unknown = [c for c in codes if plan.system(c) is None]
        if unknown:
            raise BadInput(field, _("Unknown system %(code)s.") % {"code": ", ".join(unknown)})
        return codes
    return _text(field, str(value), 300 if field == "title" else 200, required=field == "title")


def _check_lowering(actor: Actor, incident: Incident, plan: Plan, code: str) -> None:
    """Setting the response level by hand below what the rules grade needs whoever the plan lets
    activate at the rules' level: else the office could lower a level-2 incident to 3 and then
    activate and stand it down itself, which the level rule of `roles_for` exists to prevent."""
    decision = grading.evaluate(plan, facts_of(incident, plan, clock.now())).get("response_level")
    ruled = _more_severe(plan, "response_level", decision.code if decision else "",
                         incident.raised.get("response_level"))
    if not ruled or governing_level(plan, code, ruled) == code:
        return
    rule = plan.activation_for(ruled)
    if rule is not None and not allowed(actor, "activate", frozenset(rule.activate)):
        raise Forbidden(_("The rules grade this incident level %(ruled)s; only whoever may activate that level may "
                          "lower it.") % {"ruled": ruled}, action="override_grade")


def override_grade(actor: Actor, incident: Incident, scheme: str, code: str, reason: str) -> Incident:
    """The office sets a grade by hand (or, with an empty code, gives it back to the rules)."""
    with audit.writing():
        incident = _locked(incident)
        _check(actor, incident, "override_grade")
        plan = plan_of(incident.plan_version_id)
        schemes = dict(plan.grading.schemes())  # the optional ones only where the plan has them
        if scheme not in schemes:
            raise BadInput("scheme", _("Must be one of: %(v)s") % {"v": ", ".join(schemes)})
        reason = _text("reason", reason, 2000, required=True)
        overrides = dict(incident.grade_overrides)
        before = getattr(incident, scheme)
        if code:
            codes = [g.code for g in getattr(plan.grading, scheme).grades]
            if code not in codes:
                raise BadInput("code", _("Must be one of: %(v)s") % {"v": ", ".join(codes)})
            if scheme == "response_level":
                _check_lowering(actor, incident, plan, code)
            overrides[scheme] = {"code": code, "reason": reason, "by": actor_name(actor),
                                 "at": clock.now().isoformat()}
            setattr(incident, scheme, code)
        else:
            overrides.pop(scheme, None)
        incident.grade_overrides = overrides
        incident.save(update_fields=["grade_overrides", scheme])
        _log(actor, "incident.grade_overridden", incident, scheme=scheme, before=before,
             after=code or None, reason=reason)
        if not code:
            _regrade(actor, incident, "override removed")
        else:
            _set_board(incident)
            regulatory.ensure_reports(incident)  # 较大 or worse set by hand owes the CAC report
            if scheme == "response_level" and incident.is_open:
                escalation.on_level(incident)
    return incident


# -- departments --------------------------------------------------------------------------


# -- downtime modes by hand ---------------------------------------------------------------


def _check_modes(actor: Actor, incident: Incident, plan: Plan, departments: list[str]) -> None:
    require(actor, "declare_mode")
    unknown = [d for d in departments if plan.department(d) is None]
    if not departments or unknown:
        raise BadInput("departments", _("Unknown department %(code)r.") % {"code": ", ".join(unknown) or "-"})
    if isinstance(actor, User) and actor.role == "department_lead" and set(departments) != {actor.department}:
        raise Forbidden(_("You may act only for your own department."), action="declare_mode")


def declare_mode(actor: Actor, incident: Incident, mode: str, departments: list[str]) -> list[str]:
    """Put departments into a downtime mode now, without waiting for the plan's timer (a lead
    for their own department, the office or a commander for any)."""
    plan = plan_of(incident.plan_version_id)
    _check_modes(actor, incident, plan, departments)
    if mode not in DowntimeMode.Mode.values:
        raise BadInput("mode", _("Must be one of: %(choices)s.") % {"choices": ", ".join(DowntimeMode.Mode.values)})
    with audit.writing():
        incident = _locked_open(incident, "declare_mode")
        return escalation.declare_mode(actor, incident, plan, mode, departments, clock.now())


def end_mode(actor: Actor, incident: Incident, department: str) -> int:
    """A department goes back to working in the system before the incident ends."""
    plan = plan_of(incident.plan_version_id)
    _check_modes(actor, incident, plan, [department])
    with audit.writing():
        now = clock.now()
        ended = DowntimeMode.objects.filter(incident=incident, department=department,
                                            ended_at__isnull=True).update(ended_at=now)
        if not ended:
            raise InvalidTransition(_("This department is not in a downtime mode."), department=department)
        if not DowntimeMode.objects.filter(incident=incident, ended_at__isnull=True).exists():
            SystemState.objects.filter(code=incident.system, incident=incident).update(
                status=SystemState.Status.DOWN, since=now)
            _set_board(incident)
        _log(actor, "mode.ended", incident, department=department)
    return ended


# -- scenario plans and bulletins ------------------------------------------------------------


def raise_scenario(actor: Actor, incident: Incident, code: str) -> Bulletin | None:
    """One action for a scenario plan such as the 医保 network failure: its checklist, its
    bulletin on every screen, its duty chain paged with the outside contacts to call."""
    require(actor, "scenario")
    plan = plan_of(incident.plan_version_id)
    scenario = plan.scenario(code)
    if scenario is None:
        raise BadInput("scenario", _("The plan has no scenario %(code)r.") % {"code": code})
    with audit.writing():
        incident = _locked_open(incident, "scenario")
        if _running_scenarios(incident) & {code}:
            raise InvalidTransition(_("This scenario plan is already running for this incident."), scenario=code)
        return _run_scenario(actor, incident, plan, scenario)


def _running_scenarios(incident: Incident) -> set[str]:
    return set(AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk, action="scenario.raised")
               .values_list("data__scenario", flat=True))


def _run_scenario(actor: Actor | str, incident: Incident, plan: Plan, scenario: Scenario,
                  automatic: bool = False) -> Bulletin | None:
    _scenario_task(incident, scenario)
    bulletin = None
    if scenario.bulletin:
        bulletin = Bulletin.objects.create(incident=incident, scenario=scenario.code, text=scenario.bulletin,
                                           raised_at=clock.now(), raised_by=actor_name(actor))
    people = escalation.on_scenario(incident, plan, scenario)
    _log(actor, "scenario.raised", incident, scenario=scenario.code, bulletin=bulletin is not None, people=people,
         contacts=[c.code for c in escalation.scenario_contacts(incident, plan, scenario)], automatic=automatic)
    escalation.scenario_modes(actor, incident, plan, scenario, _reporting_departments(incident))
    return bulletin


def _reporting_departments(incident: Incident) -> list[str]:
    return [d for d in dict.fromkeys(incident.reports.values_list("department", flat=True)) if d]  # type: ignore[attr-defined]


def _start_scenarios(incident: Incident, plan: Plan, facts: grading.Facts) -> None:
    """The automatic scenarios whose conditions now hold start by themselves, whatever the level
    (seed 004: a regional fault caused by software calls its vendor; one caused by a virus is cut
    off the intranet)."""
    automatic = [s for s in plan.scenarios if s.automatic and any(grading.matches(c, facts) for c in s.applies_when)]
    if not automatic:
        return
    running = _running_scenarios(incident)
    for scenario in automatic:
        if scenario.code not in running:
            _run_scenario(WORKER, incident, plan, scenario, automatic=True)


def _reported_from(actor: Actor | str, incident: Incident, plan: Plan, department: str) -> None:
    """A new report from a department while a scenario puts the reporting departments in a mode:
    that department joins them."""
    if not department or not any(m.departments == "reporting" for s in plan.scenarios for m in s.modes):
        return
    for code in _running_scenarios(incident):
        scenario = plan.scenario(code)
        if scenario is not None:
            escalation.scenario_modes(actor, incident, plan, scenario, [department], only_reporting=True)


def raise_scenario_for_system(actor: Actor, code: str) -> Incident:
    """The dashboard's one click: start the scenario on the open incident of its system, or
    report one first (the scenario names the system, e.g. INS for the 医保 network)."""
    current = published()
    scenario = current[1].scenario(code) if current else None
    systems = [s for cond in (scenario.applies_when if scenario else []) for s in (cond.systems or [])]
    if scenario is None or not systems:
        raise BadInput("scenario", _("The plan has no scenario %(code)r.") % {"code": code})
    incident = (Incident.objects.filter(system__in=systems, status__in=Incident.OPEN).order_by("-reported_at").first()
                or report_fault(actor, system=systems[0], symptom=scenario.name, scope="hospital").incident)
    raise_scenario(actor, incident, code)
    return incident


def lower_bulletin(actor: Actor, bulletin: Bulletin) -> Bulletin:
    require(actor, "scenario")
    with audit.writing():
        if Bulletin.objects.filter(pk=bulletin.pk, lowered_at__isnull=True).update(
                lowered_at=clock.now(), lowered_by=actor_name(actor)):
            _log(actor, "bulletin.lowered", bulletin.incident, scenario=bulletin.scenario)
    bulletin.refresh_from_db()
    return bulletin


def _check_department(actor: Actor, task: DepartmentTask, action: str) -> None:
    require(actor, action)
    own = isinstance(actor, User) and actor.role == "department_lead"
    if own and task.department != getattr(actor, "department", None):
        raise Forbidden(_("You may act only for your own department."), action=action)
    if task.incident.status in Incident.ENDED:  # a closed incident's checklists are its record now
        raise InvalidTransition(_("The incident has ended; its checklists can no longer change."),
                                status=task.incident.status, allowed=[])


def acknowledge_department(actor: Actor, task: DepartmentTask) -> DepartmentTask:
    with audit.writing():
        task = DepartmentTask.objects.select_related("incident").get(pk=task.pk)
        _check_department(actor, task, "department_ack")
        if task.acknowledged_at:
            raise InvalidTransition(_("Already acknowledged."), status="acknowledged", allowed=[])
        _department_acknowledged(actor, task)
    return task


def _department_acknowledged(actor: Actor | str, task: DepartmentTask) -> None:
    task.acknowledged_at = clock.now()
    task.acknowledged_by = actor_name(actor)
    task.save(update_fields=["acknowledged_at", "acknowledged_by"])
    late = task.ack_due_at is not None and task.acknowledged_at > task.ack_due_at
    _log(actor, "department.acknowledged", task.incident, department=task.department, late=late)
    escalation.on_department_acknowledged(actor, task)


def tick(actor: Actor, item: ChecklistItem, done: bool = True) -> ChecklistItem:
    with audit.writing():
        item = ChecklistItem.objects.select_related("task__incident").get(pk=item.pk)
        _check_department(actor, item.task, "tick")
        if bool(item.done_at) == done:
            return item
        item.done_at, item.done_by = (clock.now(), actor_name(actor)) if done else (None, "")
        item.save(update_fields=["done_at", "done_by"])
        _log(actor, "checklist.ticked" if done else "checklist.unticked", item.task.incident,
             department=item.task.department or item.task.scenario, phase=item.phase,
             item=item.position, text=item.text[:200])
    return item
