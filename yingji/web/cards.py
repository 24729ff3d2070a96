"""Cards other domains add to the incident page (the alerts app: the monitors' alerts), registered
by them, so that the page imports none of them. A card is a function of (incident, plan, viewer)
that returns its template's context with a `template` key, or None when it has nothing to show."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Card = Callable[[Any, Any, Any], "dict[str, Any] | None"]
CARDS: list[Card] = []


def card(fn: Card) -> Card:
    CARDS.append(fn)
    return fn


def cards_for(incident: Any, plan: Any, user: Any) -> list[dict[str, Any]]:
    return [shown for fn in CARDS if (shown := fn(incident, plan, user))]


# Notices other domains put on the status board (the alerts app: planned maintenance windows), as
# dicts with `text` and `when`; shown on the dashboard and the lobby screen.
Notice = Callable[[], "list[dict[str, Any]]"]
BOARD: list[Notice] = []


def board_notice(fn: Notice) -> Notice:
    BOARD.append(fn)
    return fn


def board_notices() -> list[dict[str, Any]]:
    return [notice for fn in BOARD for notice in fn()]
