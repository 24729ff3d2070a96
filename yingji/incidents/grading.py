"""Grading: the plan's rules evaluated against what is known about an incident.

Every scheme (fault class, response level, duration level, category, national grade) is a list
of grades, most severe first, each with conditions; the first grade with a matching condition
wins, else the default. A condition is a set of facts that must all hold. Because outage time is
one of the facts, grades change as time passes: `next_threshold` says when the next rule could
start to match, and the worker re-grades then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yingji.plans.schema import Condition, Plan, Scheme


@dataclass(frozen=True)
class Facts:
    systems: frozenset[str]
    criticality: frozenset[str]
    scope: str
    cause: str
    security: str
    fault: str
    outage_s: int
    patients: int


@dataclass(frozen=True)
class Decision:
    code: str
    rule: int | None  # index of the matching condition; None for the default grade
    condition: dict[str, Any] = field(default_factory=dict)

    def reason(self) -> dict[str, Any]:
        return {"rule": self.rule, "condition": self.condition}


def matches(cond: Condition, facts: Facts) -> bool:
    if cond.systems is not None and not facts.systems & set(cond.systems):
        return False
    if cond.criticality is not None and not facts.criticality & set(cond.criticality):
        return False
    if cond.scope is not None and facts.scope not in cond.scope:
        return False
    if cond.cause is not None and facts.cause not in cond.cause:
        return False
    if cond.faults is not None and facts.fault not in cond.faults:
        return False
    if cond.security is not None and facts.security not in cond.security:
        return False
    if cond.outage_over is not None and not facts.outage_s > cond.outage_over:
        return False
    return cond.patients_over is None or facts.patients > cond.patients_over


def decide(scheme: Scheme, facts: Facts) -> Decision | None:
    for grade in scheme.grades:
        for index, cond in enumerate(grade.when):
            if matches(cond, facts):
                return Decision(grade.code, index, cond.model_dump(mode="json", exclude_none=True))
    default = next((g for g in scheme.grades if g.default), None)
    return Decision(default.code, None) if default else None


def evaluate(plan: Plan, facts: Facts) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    for name, scheme in plan.grading.schemes():
        decision = decide(scheme, facts)
        if decision is not None:
            out[name] = decision
    return out


def next_threshold(plan: Plan, facts: Facts) -> int | None:
    """Seconds of outage at which some rule's outage_over (a grade's, or an automatic scenario's)
    will next be passed, if any."""
    conditions = [cond for _, scheme in plan.grading.schemes() for grade in scheme.grades for cond in grade.when]
    conditions += [cond for scenario in plan.scenarios if scenario.automatic for cond in scenario.applies_when]
    pending = [cond.outage_over for cond in conditions
               if cond.outage_over is not None and cond.outage_over >= facts.outage_s]
    return min(pending) + 1 if pending else None
