"""Codes in words, for the templates: `{{ s.rto|duration }}`, `{{ v.imported_by|who:plan }}`,
`{{ p.department|department:plan }}`, `{{ s.criticality|choice:"criticality" }}`,
`{% grade_name plan "fault_class" t.fault_class %}`. Each is one call into core.actors or
web.words, which the timeline and the documents use too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from yingji.core.actors import display_name
from yingji.plans.durations import human_duration
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
def choice(code: str | None, field: str) -> str:
    return words.choice(field, code or "")


@register.filter
def choices(codes: Iterable[str], field: str) -> str:
    return words.listed(words.choice(field, code) for code in codes)


@register.simple_tag
def grade_name(plan: Any, scheme: str, code: str | None) -> str:
    return words.grade_name(plan, scheme, code)
