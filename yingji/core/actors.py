"""Who did it. A person acts through their User; the CLI and the worker act as SystemActor,
which has machine access and so passes role checks, but is still named in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from yingji.accounts.models import User


@dataclass(frozen=True)
class SystemActor:
    name: str

    is_authenticated = True
    role = "system"


WORKER = SystemActor("worker")
CLI = SystemActor("cli")
ANONYMOUS = SystemActor("anonymous")

Actor = Union["User", SystemActor]


def actor_name(actor: Actor | str | None) -> str:
    """The name the audit log shows; a plain string is already a name (someone acting by a signed link)."""
    if actor is None:
        return "anonymous"
    if isinstance(actor, str):
        return actor
    if isinstance(actor, SystemActor):
        return actor.name
    return actor.username
