"""What a person reads instead of a code: phone numbers as links a phone dials, systems and
grades by their plan names."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.plans.store import plan_of

register = template.Library()

DIALLED = re.compile(r"[^0-9+]")


@register.filter
def tel(number: str | None) -> str:
    """A phone number as a tel: link (tapping it on a phone dials it); nothing when there is none.
    The link keeps the digits and a leading +; the text keeps the number as the plan writes it."""
    if not number:
        return ""
    digits = DIALLED.sub("", str(number))
    if not digits:
        return str(number)
    return format_html('<a class="tel" href="tel:{}">{}</a>', digits, number)


@register.filter
def system_name(incident: Any, code: str | None = None) -> str:
    """The incident's system (or the system `code`, such as a downtime mode's) by its name in the
    incident's plan; the code if the plan has no such system."""
    code = code or incident.system
    system = plan_of(incident.plan_version_id).system(code)
    return system.name if system else code


@register.filter
def who(username: str) -> str:
    """A login as the person's name ("info-director" → 张伟). Entries made through a signed link
    or by the worker already hold a name, and are shown as they are."""
    from yingji.accounts.models import User

    user = User.objects.filter(username=username).only("first_name", "last_name", "username").first()
    return str(user) if user else username


@register.filter
def grade_name(incident: Any, scheme: str) -> str:
    """The incident's grade in a scheme ("fault_class") by its plan name."""
    code = getattr(incident, scheme, "")
    grades = getattr(plan_of(incident.plan_version_id).grading, scheme).grades
    return next((g.name for g in grades if g.code == code), code)


@register.filter
def person_name(code: str, plan: Any) -> str:
    """A plan person's code as their name ("eng-duty" → 周杰); the code if the plan has no such person."""
    person = plan.person(code) if plan is not None and code else None
    return person.name if person else code


@register.filter
def system_names(codes: list[str], plan: Any) -> str:
    """Systems by their plan names, separated by commas."""
    found = [plan.system(code) for code in codes]
    return _(", ").join(s.name if s else code for s, code in zip(found, codes, strict=True))


@register.filter
def department_name(code: str, plan: Any) -> str:
    department = plan.department(code) if code else None
    return department.name if department else code


@register.filter
def role_names(roles: list[str]) -> str:
    """Yingji roles ("commander") as their labels (指挥长), separated by commas."""
    from yingji.accounts.models import Role

    labels = dict(Role.choices)
    return _(", ").join(str(labels.get(role, role)) for role in roles)


CRITICALITY = {"core": gettext_lazy("core"), "important": gettext_lazy("important"),
               "general": gettext_lazy("general")}


@register.filter
def criticality(value: str) -> str:
    return str(CRITICALITY.get(value, value))


@register.filter
def fault_class_name(code: str, plan: Any) -> str:
    return next((g.name for g in plan.grading.fault_class.grades if g.code == code), code)


@register.filter
def response_level_name(code: str, plan: Any) -> str:
    return next((g.name for g in plan.grading.response_level.grades if g.code == code), code)
