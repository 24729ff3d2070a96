"""One clock for the whole app, so tests (and drills) can move time instead of sleeping."""

from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


def freeze(at: datetime) -> None:
    global _frozen
    _frozen = at


def advance(delta: timedelta) -> None:
    """Move time forward: a frozen clock moves by delta, a running one gains an offset."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta


def reset() -> None:
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)
