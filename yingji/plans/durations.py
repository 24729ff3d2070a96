"""Durations as the plan writes them: "30s", "5m", "3h", "1h30m", "90d"."""

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([smhdw])")
PATTERN = r"^\s*(\d+\s*[smhdw]\s*)+$"
# No deadline in an emergency plan is ten years away; past that it is a typo, and past about
# 10^14 s a datetime plus the duration overflows.
MAX_SECONDS = 3650 * 86400


def parse_duration(value: object) -> int:
    """Return seconds. Plain integers are seconds; strings need a unit so "30" is never a guess."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number with a unit, like 30s, 5m, 3h or 1d")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return _bounded(value)
    if not isinstance(value, str) or not re.fullmatch(PATTERN, value):
        raise ValueError(f"{value!r} is not a duration; write a duration like 30s, 5m, 3h, 1d or 1h30m")
    parts = _PART.findall(value)
    if any(len(n) > 12 for n, _unit in parts):
        raise ValueError(f"{value!r} is longer than ten years; a plan's durations are at most 3650d")
    return _bounded(sum(int(n) * _UNITS[u] for n, u in parts))


def _bounded(seconds: int) -> int:
    if seconds > MAX_SECONDS:
        raise ValueError(f"{format_duration(seconds)} is longer than ten years; a plan's durations are at most 3650d")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest plan spelling of a duration, so exported plans read like written ones."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


def human_duration(seconds: int) -> str:
    """A duration as a person says it, in the active language: "1 小时 30 分钟", "1 h 30 min".
    `format_duration` is the plan's spelling ("1h30m"), for files; this one is for people."""
    if seconds <= 0:
        return _("%(n)d min") % {"n": 0}
    parts = []
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes:
        parts.append(_("%(n)d min") % {"n": minutes})
    if secs:
        parts.append(_("%(n)d s") % {"n": secs})
    return " ".join(parts)
