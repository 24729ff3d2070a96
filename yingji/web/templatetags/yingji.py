from django import template

from yingji.plans.durations import format_duration

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    return "–" if seconds is None else format_duration(int(seconds))
