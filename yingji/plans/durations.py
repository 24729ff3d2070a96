"""Durations as the plan writes them: "30s", "5m", "3h", "1h30m", "90d"."""

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([smhdw])")
PATTERN = r"^\s*(\d+\s*[smhdw]\s*)+$"


def parse_duration(value: object) -> int:
    """Return seconds. Plain integers are seconds; strings need a unit so "30" is never a guess."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number with a unit, like 30s, 5m, 3h or 1d")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if not isinstance(value, str) or not re.fullmatch(PATTERN, value):
        raise ValueError(f"{value!r} is not a duration; write a number with a unit: 30s, 5m, 3h, 1d")
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))


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
