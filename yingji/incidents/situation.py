"""Where an incident stands and who must act next: the read side of the incident page's header.

Nothing here writes. The deadlines are the incident's timer rows; each is told with what it waits
for and who is accountable for it, in the plan's own names (a department's name, a person's
name), so the page can say "周杰 must acknowledge within 03:12" instead of listing timer kinds
(the web names the kinds, from `web/words.TIMERS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from yingji.accounts.roles import ACTION_ROLES
from yingji.core import clock
from yingji.core.actors import display_name, person_of_login
from yingji.core.models import AuditEntry
from yingji.notify.models import Message
from yingji.oncall.targets import resolve
from yingji.plans.schema import Plan
from yingji.timers.models import Timer

from .models import DepartmentTask, Incident

# Deadlines nobody answers for: the grade moves by itself when the time comes.
AUTOMATIC = ("regrade",)


@dataclass
class Deadline:
    timer: Timer
    accountable: list[str] = field(default_factory=list)  # people's names
    unit: str = ""  # the department (or authority) it is about, by name
    department: str = ""  # that department's code, to put the viewer's own first

    @property
    def who(self) -> str:
        """The accountable people, at most six by name: a breached first page can name twenty."""
        shown = _(", ").join(self.accountable[:6])
        more = len(self.accountable) - 6
        return shown + (_(" and %(n)d more") % {"n": more, "total": len(self.accountable)} if more > 0 else "")

    @property
    def pending(self) -> bool:
        return self.timer.state == Timer.State.PENDING


@dataclass
class ActivationWait:
    """The graded level asks for an activation the plan gives only to some roles."""

    level: str
    level_name: str
    roles: frozenset[str]
    people: list[str]  # names of the people who hold those roles


def _paged_until(incident: Incident, step: int, plan: Plan) -> list[str]:
    """Who the acknowledge clock of `step` waits for: anyone paged up to that step who has not answered
    (an escalation adds people; the ones before may still acknowledge)."""
    rows = Message.objects.filter(incident=incident, step__lte=step, needs_ack=True, task=None,
                                  kind__in=(Message.Kind.PAGE, Message.Kind.ESCALATION),
                                  acked_at__isnull=True).exclude(person="").values_list("person", flat=True)
    return list(dict.fromkeys(display_name(code, plan) for code in rows if takes_incidents(plan, code)))


def takes_incidents(plan: Plan, person: str) -> bool:
    """Whether the person paged is one who takes an incident by acknowledging it (an engineer, the
    office). A class-I page also reaches the dean: his acknowledgement says he has read it; it
    neither stops the engineers' chain nor makes him the incident's lead."""
    found = plan.person(person)
    return found is None or found.role is None or found.role in ACTION_ROLES["acknowledge"]


def deadlines(incident: Incident, plan: Plan, entries: Iterable[Any] = ()) -> list[Deadline]:
    """Every deadline of the incident, soonest first, each with who answers for it."""
    rows = list(incident.timers.order_by("due_at", "id"))  # type: ignore[attr-defined]
    tasks = {t.pk: t for t in DepartmentTask.objects.filter(incident=incident)} if any(
        r.kind == "dept_ack" for r in rows) else {}
    lead = incident_lead(incident, plan, entries)
    out = []
    for timer in rows:
        deadline = Deadline(timer)
        if timer.kind == "ack":
            deadline.accountable = _paged_until(incident, int(timer.payload.get("step", 0)), plan)
        elif timer.kind == "on_site":
            deadline.accountable = [lead] if lead else []
        elif timer.kind == "fix":  # whoever took it; until then, those the plan tells when it is missed
            deadline.accountable = [lead] if lead else [display_name(code, plan) for code in resolve(
                plan, plan.timers.fix_breach, clock.now())]
        elif timer.kind == "mode":
            index = int(timer.payload.get("index", 0))
            switch = plan.timers.modes[index] if index < len(plan.timers.modes) else None
            if switch:
                deadline.unit = _(", ").join(d.name for code in switch.departments if (d := plan.department(code)))
        elif timer.kind == "dept_ack":
            task = tasks.get(int(timer.payload.get("task", 0)))
            if task:
                deadline.unit, deadline.department = task.name, task.department
                department = plan.department(task.department)
                if department and department.lead:
                    deadline.accountable = [display_name(department.lead, plan)]
        elif timer.kind == "report":  # a report upward owed at a level: who the plan says reports
            rule = plan.activation_for(str(timer.payload.get("level", "")))
            if rule and rule.report:
                deadline.accountable = [display_name(code, plan) for code in resolve(plan, rule.report.by, clock.now())]
                deadline.unit = _(", ").join(display_name(code, plan) for code in resolve(plan, rule.report.to,
                                                                                          clock.now()))
        elif timer.kind in ("regulatory", "backentry"):
            deadline.accountable = [display_name(code, plan) for code in office_people(plan)]
        out.append(deadline)
    return out


def next_deadline(rows: list[Deadline], department: str = "") -> Deadline | None:
    """The soonest pending deadline someone must meet; the next automatic regrade only if none. A
    department's own deadline comes first for its people: the cashier's head needs hers, not the
    pharmacy's that falls due a second earlier."""
    pending = [d for d in rows if d.pending]
    own = next((d for d in pending if department and d.department == department), None)
    if own:
        return own
    return next((d for d in pending if d.timer.kind not in AUTOMATIC), pending[0] if pending else None)


def office_people(plan: Plan) -> list[str]:
    office = plan.organization.office
    return [code for code in [office.leader, *office.deputies] if code]


TAKEN = ("incident.acknowledged", "incident.on_site")


def incident_lead(incident: Incident, plan: Plan, entries: Iterable[Any]) -> str:
    """Who took the incident: the first to acknowledge it or to arrive, by name."""
    for entry in entries:
        if entry.action in TAKEN:
            person = (entry.data or {}).get("person")
            return display_name(person, plan) if person else display_name(entry.actor, plan)
    return ""


def lead_person(incident: Incident) -> str:
    """The plan person code of whoever took the incident ("" when nobody has, or no person is known)."""
    entry = (AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk, action__in=TAKEN)
             .order_by("id").first())
    if entry is None:
        return ""
    return (entry.data or {}).get("person") or person_of_login(entry.actor)


def on_it(incident: Incident, plan: Plan, entries: Iterable[Any]) -> list[str]:
    """Everyone who has answered for the incident so far: acknowledged, arrived or activated."""
    people: list[str] = []
    for entry in entries:
        if entry.action in ("incident.acknowledged", "incident.on_site", "incident.activated",
                            "page.acknowledged", "department.acknowledged"):
            person = (entry.data or {}).get("person")
            people.append(display_name(person, plan) if person else display_name(entry.actor, plan))
    return list(dict.fromkeys(p for p in people if p))


def holders(plan: Plan, roles: Iterable[str]) -> list[str]:
    """The plan people whose role is one of `roles`, by name and title ("院长 王建国")."""
    wanted = set(roles)
    return [f"{p.title} {p.name}" if p.title else p.name for p in plan.people if p.role in wanted]


def activation_wait(incident: Incident, plan: Plan) -> ActivationWait | None:
    """The graded level needs an activation that has not happened (or happened at a lower level)."""
    if not incident.is_open or incident.restored_at:
        return None
    level = incident.response_level
    rule = plan.activation_for(level)
    if rule is None or not rule.requires_activation:
        return None
    # Activated once (and perhaps stood down since): decided, unless the level has risen above it.
    if incident.activated_at and not _more_severe(plan, level, incident.activation_level):
        return None
    roles = frozenset(rule.activate)
    return ActivationWait(level, plan.grade_name("response_level", level), roles, holders(plan, roles))


def _more_severe(plan: Plan, level: str, than: str) -> bool:
    order = [g.code for g in plan.grading.response_level.grades]
    return level in order and (than not in order or order.index(level) < order.index(than))


def severity_rank(plan: Plan, scheme: str, code: str) -> int:
    """0 for a scheme's most severe grade, 1 for the next...: what the header colours by."""
    codes = [g.code for g in getattr(plan.grading, scheme).grades]
    return codes.index(code) if code in codes else len(codes)


def my_pages(incident: Incident, person: str) -> list[Message]:
    """The viewer's own pages on this incident that still wait for their answer."""
    return list(Message.waiting_for(person).filter(incident=incident).order_by("id")) if person else []
