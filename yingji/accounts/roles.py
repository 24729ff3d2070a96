"""Who may do what. The plan narrows activation, stand-down and closing further per grade
(see incidents.actions); everything else is decided here, in one table a reviewer can read."""

from __future__ import annotations

from django.utils.translation import gettext as _

from yingji.core.actors import ANONYMOUS, Actor, SystemActor
from yingji.core.errors import Forbidden

EVERYONE = frozenset({"reporter", "engineer", "office", "commander", "department_lead", "viewer", "admin"})
STAFF = EVERYONE - {"viewer"}

ACTION_ROLES: dict[str, frozenset[str]] = {
    "report": STAFF,
    "phone_report": frozenset({"engineer", "office"}),
    "acknowledge": frozenset({"engineer", "office"}),
    "arrive": frozenset({"engineer", "office"}),
    "update_facts": frozenset({"engineer", "office"}),
    "restore": frozenset({"engineer", "office"}),
    "cancel": frozenset({"office"}),
    "merge": frozenset({"office"}),
    "retry_report": frozenset({"engineer", "office"}),  # a report the worker could not merge
    "override_grade": frozenset({"office", "commander"}),  # a commander may lower what only they activate
    # Defaults; the published plan names the roles per response level / fault class.
    "activate": frozenset({"commander"}),
    "stand_down": frozenset({"commander"}),
    "close": frozenset({"office"}),
    # Department checklists: a lead acts for their own department, the office for any.
    "tick": frozenset({"department_lead", "office"}),
    "department_ack": frozenset({"department_lead", "office"}),
    # Going stand-alone or to paper by hand, before (or instead of) the plan's timers.
    "declare_mode": frozenset({"department_lead", "office", "commander"}),
    # Starting a scenario plan (医保 failure, power...) and raising or lowering its bulletin.
    "scenario": frozenset({"engineer", "office", "commander"}),
    "view": EVERYONE,
    "plan_import": frozenset({"admin", "office"}),
    "plan_approve": frozenset({"admin", "commander"}),
    "plan_publish": frozenset({"admin"}),
    "roster_edit": frozenset({"office", "admin"}),
    # Back-entry (补录): staff register and enter their department's paper records, leads check
    # them and sign the reconciliation, finance (a lead of a finance department) co-signs.
    "record": frozenset({"reporter", "department_lead", "office"}),
    "enter": frozenset({"reporter", "department_lead", "office"}),
    "verify": frozenset({"department_lead", "office"}),
    "confirm": frozenset({"department_lead", "office"}),
    "settle": frozenset({"department_lead", "office"}),
    "reconcile": frozenset({"department_lead", "office"}),
    "temp_range": frozenset({"office", "admin"}),
    "regulatory": frozenset({"office", "commander"}),
    "situation_report": frozenset({"engineer", "office", "commander"}),
    "integrations": frozenset({"office", "admin"}),
    "silence": frozenset({"engineer", "office"}),
    # The written review and its corrective actions; an action's owner may also mark it done.
    "review": frozenset({"office", "commander"}),
    "read_review": frozenset({"engineer", "office", "commander", "department_lead", "admin"}),
    "evidence": frozenset({"engineer", "office"}),
    # People's mobiles and emails: only for those who page or call people during an incident.
    "see_contacts": frozenset({"engineer", "office", "commander"}),
}


def allowed(actor: Actor | None, action: str, roles: frozenset[str] | list[str] | None = None) -> bool:
    """The CLI and the worker act with machine access; the anonymous form may only report."""
    if isinstance(actor, SystemActor):
        return actor is not ANONYMOUS or action == "report"
    if actor is None or not actor.is_authenticated:
        return False
    return actor.role in (ACTION_ROLES[action] if roles is None else roles)


def require(actor: Actor, action: str) -> None:
    """`allowed`, or a 403 naming the action."""
    if not allowed(actor, action):
        raise Forbidden(_("Your role may not do this."), action=action)
