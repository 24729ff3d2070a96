"""The hospitals the plan-driven tests run against: the two shipped plans and a second hospital.

A test that takes the `hospital` fixture (or `fast` in the escalation tests) runs once per plan.
It must not name the demo's codes: whom to report as, which system goes down, which department
works alone first, who settles, all come from the plan under test through `Cast`. The second
hospital (tests/plans/second_hospital.yaml) has its own codes for everything, English, another
time zone, stricter deadlines and a weekly roster, so a test that still assumes the demo fails there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation

from yingji.core.actors import CLI
from yingji.core.demo import ensure_user, load_demo
from yingji.plans import actions as plan_actions
from yingji.plans.loader import template_text
from yingji.plans.schema import TARGET_RE, Department, Plan, Scenario
from yingji.plans.store import forget_published, published

HOSPITALS = ("zh", "en", "second")
SECOND = Path(__file__).resolve().parent / "plans" / "second_hospital.yaml"


def plan_text(name: str) -> str:
    return SECOND.read_text(encoding="utf-8") if name == "second" else template_text(name)


@dataclass
class Cast:
    """Who is who in the plan under test, and the parts of it the tests act on."""

    name: str
    plan: Plan
    _apis: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def publish(cls, name: str, text: str | None = None) -> Cast:
        """Publish the plan (or `text`, a variant of it) and give a login to each of its people."""
        plan_actions.import_and_publish(CLI, text or plan_text(name), note=f"test: {name}")
        forget_published()
        if name in ("zh", "en"):
            load_demo(name)  # the demo's extra logins and temporary number ranges, for the shipped plans
        plan = published()[1]  # type: ignore[index]
        for person in plan.people:
            if person.role:
                ensure_user(person.code, person.role, person.department or "", person.name, person.mobile or "",
                            person.code)
        return cls(name, plan)

    # -- people -------------------------------------------------------------------------------

    def with_role(self, role: str, department: str | None = None) -> str:
        return next(p.code for p in self.plan.people
                    if p.role == role and (department is None or p.department == department))

    @property
    def reporter(self) -> str:
        return self.with_role("reporter")

    @property
    def engineer(self) -> str:
        return self.with_role("engineer")

    @property
    def commander(self) -> str:
        return self.with_role("commander")

    @property
    def office(self) -> str:
        return self.plan.organization.office.leader or self.with_role("office")

    def lead(self, department: str) -> str:
        found = self.plan.department(department)
        assert found is not None and found.lead, department
        return found.lead

    def clerk(self, department: str) -> str:
        """A member of staff of the department (role reporter), made for the test."""
        username = f"clerk-{department}"
        ensure_user(username, "reporter", department, f"Clerk {department}")
        return username

    def people(self, targets: list[str]) -> list[str]:
        """The plan people `person:` targets name (the tests' plans page people by code)."""
        return [m[2] for t in targets if (m := TARGET_RE.match(t)) and m[1] == "person"]

    def api(self, username: str) -> Any:
        from yingji.accounts.models import User

        from .conftest import Api

        if username not in self._apis:
            self._apis[username] = Api(User.objects.get(username=username))
        return self._apis[username]

    # -- the plan's parts ---------------------------------------------------------------------

    @property
    def core(self) -> str:
        """The system whose hospital-wide outage starts the downtime modes (HIS, CIS)."""
        return self.plan.timers.modes[0].systems[0]

    @property
    def local(self) -> str:
        """A system that is not core (LIS, LAB): a fault of one workstation stays minor."""
        return next(s.code for s in self.plan.systems if s.criticality != "core")

    @property
    def standalone(self) -> Department:
        """The department the first mode switch sends to stand-alone (the cashier, reception)."""
        found = self.plan.department(self.plan.timers.modes[0].departments[0])
        assert found is not None
        return found

    @property
    def paper(self) -> Department:
        """A department the later mode switch sends to paper (the wards)."""
        found = self.plan.department(self.plan.timers.modes[-1].departments[0])
        assert found is not None
        return found

    def other_department(self, *than: str) -> Department:
        return next(d for d in self.plan.departments if d.code not in than and d.lead)

    @property
    def scenario(self) -> Scenario:
        """A scenario plan a system's outage brings (医保 network, the claims gateway)."""
        return next(s for s in self.plan.scenarios if s.bulletin and s.contacts
                    and any(c.systems for c in s.applies_when))

    def scenario_system(self, scenario: Scenario) -> str:
        return next(code for c in scenario.applies_when for code in (c.systems or []))

    def levels(self) -> list[str]:
        return [g.code for g in self.plan.grading.response_level.grades]

    def classes(self) -> list[str]:
        return [g.code for g in self.plan.grading.fault_class.grades]

    def default(self, scheme: str) -> str:
        return next(g.code for g in getattr(self.plan.grading, scheme).grades if g.default)

    def charge_kind(self) -> str:
        return next(k.code for k in self.plan.recovery.record_kinds if k.needs_amount)

    def clinician_kind(self) -> str:
        return next(k.code for k in self.plan.recovery.record_kinds if k.needs_clinician)

    def settler(self) -> str:
        """The lead of a department that settles insured records (cashier's, patient accounts')."""
        return self.lead(self.plan.settling_departments()[0])

    @property
    def finance(self) -> str:
        return self.lead(self.plan.recovery.finance_department or "")

    @property
    def zone(self) -> ZoneInfo:
        return self.plan.hospital.zone()

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A wall-clock moment in the hospital's own zone."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def words(self, text: Any, **params: Any) -> str:
        """A message of Yingji's own as the plan's people read it (in the plan's language)."""
        with translation.override(self.plan.hospital.language):
            return str(text) % params if params else str(text)

    def report_body(self, system: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"system": system or self.core, "symptom": "Cannot log in", "location": "Ward round", **extra}

    def report(self, who: str | None = None, system: str | None = None, **extra: Any) -> Any:
        from .conftest import merged

        client = self.api(who or self.reporter)
        return merged(client, client.post("/incidents", self.report_body(system, **extra)))


# Days the tests freeze the clock on: a Saturday afternoon has no peak hours in any of the plans.
SATURDAY = date(2026, 11, 21)
MONDAY = date(2026, 11, 23)
assert SATURDAY.isoweekday() == 6 and MONDAY.isoweekday() == 1
ONE_MINUTE = timedelta(minutes=1)
