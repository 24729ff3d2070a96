"""What a person reads instead of a code: phone numbers as links a phone dials, systems and
grades by their plan names."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html

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
