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
