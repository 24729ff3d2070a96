"""Who did it. A person acts through their User; the CLI and the worker act as SystemActor,
which has machine access and so passes role checks, but is still named in the audit log.

The audit log keeps the code (a login, `worker`); `display_name` is what a person reads."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from yingji.accounts.models import User
    from yingji.plans.schema import Plan


@dataclass(frozen=True)
class SystemActor:
    name: str

    is_authenticated = True
    role = "system"


WORKER = SystemActor("worker")
CLI = SystemActor("cli")
ANONYMOUS = SystemActor("anonymous")

Actor = Union["User", SystemActor]

# A monitor acting (an alert opening an incident) is "monitor:<integration name>" on the chain.
MONITOR_PREFIX = "monitor:"


def monitor(name: str) -> SystemActor:
    return SystemActor(MONITOR_PREFIX + name)

SYSTEM_NAMES = {
    "worker": gettext_lazy("Yingji (automatic)"),
    "cli": gettext_lazy("Yingji administrator (command line)"),
    "anonymous": gettext_lazy("anonymous reporter"),
    "login-guard": gettext_lazy("Yingji login guard"),
}
# Someone pressing the button of a page's signed link: the name of the person paged, marked so.
# Older entries were written with the marker in the request's language.
_LINK = re.compile(r"^(?P<name>.+) \((?:link|链接)\)$")


def actor_name(actor: Actor | str | None) -> str:
    """The name the audit log shows; a plain string is already a name (someone acting by a signed link)."""
    if actor is None:
        return "anonymous"
    if isinstance(actor, str):
        return actor
    if isinstance(actor, SystemActor):
        return actor.name
    return actor.username


def link_actor(name: str) -> str:
    """The audit log's actor for a page acknowledged through its link, for `name` (whose page it was)."""
    return f"{name} (link)"


def display_name(actor: str | None, plan: Plan | None = None) -> str:
    """Who `actor` is, in words: the person's name for a login (their User's name, else the plan's
    name for their person code) or for a plan person code, "Yingji (automatic)" for the worker,
    "anonymous reporter", "X (by the acknowledgement link)". Anything else is already a name
    (a reporter's, someone's typed in) and comes back as it is."""
    if not actor:
        return str(SYSTEM_NAMES["anonymous"])
    if actor in SYSTEM_NAMES:
        return str(SYSTEM_NAMES[actor])
    if link := _LINK.match(actor):
        return _("%(name)s (by the acknowledgement link)") % {"name": display_name(link["name"], plan)}
    if actor.startswith(MONITOR_PREFIX):
        return _("monitor %(name)s") % {"name": actor[len(MONITOR_PREFIX):]}
    full, person = _user(actor)
    if full:
        return full
    for code in (person, actor):
        found = plan.person(code) if plan is not None and code else None
        if found is not None:
            return found.name
    return actor


# Logins' names, remembered for a few seconds per process: a timeline names the same few people
# dozens of times, and a renamed user shows under the new name within NAMES_CACHE_S.
NAMES_CACHE_S = 5.0
_names: dict[str, tuple[float, str, str]] = {}


def _user(username: str) -> tuple[str, str]:
    """(full name, person code) of the login `username`, ("", "") when there is none."""
    cached = _names.get(username)
    if cached and time.monotonic() - cached[0] < NAMES_CACHE_S:
        return cached[1], cached[2]
    from django.contrib.auth import get_user_model  # core names no app: the user model is a setting

    row = get_user_model().objects.filter(username=username).values_list("first_name", "last_name", "person").first()
    full, person = (f"{row[0]} {row[1]}".strip(), row[2]) if row else ("", "")
    if len(_names) > 10_000:
        _names.clear()
    _names[username] = (time.monotonic(), full, person)
    return full, person


def person_of_login(username: str) -> str:
    """The plan person code a login is tied to ("" when none)."""
    return _user(username)[1]


def forget_names() -> None:
    """Tests reuse usernames across rolled-back databases; production never does."""
    _names.clear()
