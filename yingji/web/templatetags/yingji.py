"""Codes in words, for the templates: `{{ s.rto|duration }}`, `{{ v.imported_by|who:plan }}`,
`{{ p.department|department:plan }}`, `{{ r.kind|record_kind:plan }}`, `{{ s.criticality|choice:"criticality" }}`,
`{% grade_name plan "fault_class" t.fault_class %}`, `{{ phone|tel }}`,
`{{ incident|system_name }}`. Each is one call into core.actors or
web.words, which the timeline and the documents use too."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import format_html

from yingji.core.actors import display_name
from yingji.plans.durations import human_duration
from yingji.plans.store import plan_of
from yingji.web import words

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    return "–" if seconds is None else human_duration(int(seconds))


@register.filter
def who(actor: str | None, plan: Any = None) -> str:
    """A login, a person code or a system actor by name."""
    return display_name(actor, plan) if actor else ""


@register.filter
def department(code: str | None, plan: Any = None) -> str:
    return words.department_name(plan, code or "")


@register.filter
def record_kind(code: str | None, plan: Any = None) -> str:
    """A kind of paper record by the plan's name for it."""
    return words.record_kind_name(plan, code or "")


@register.filter
def choice(code: str | None, field: str) -> str:
    return words.choice(field, code or "")


@register.filter
def choices(codes: Iterable[str], field: str) -> str:
    return words.listed(words.choice(field, code) for code in codes)


@register.simple_tag
def grade_name(plan: Any, scheme: str, code: str | None) -> str:
    return words.grade_name(plan, scheme, code)


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
def system_names(codes: Iterable[str], plan: Any) -> str:
    """Systems by their plan names, in a row."""
    return words.listed(words.system_name(plan, code) for code in codes)
