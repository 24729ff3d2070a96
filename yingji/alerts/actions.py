"""Every change to the integrations: add one (its secret URL is shown once) and rotate its token.
Like the other `actions.py`: the role first, then one `audit.writing()` with the audit entry."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from yingji.accounts.roles import require
from yingji.core import audit, clock
from yingji.core.actors import Actor, actor_name
from yingji.core.errors import BadInput, InvalidTransition
from yingji.plans.store import published
from yingji.timers import service as timers

from . import intake
from .models import Alert, Integration, Silence


def url_of(integration: Integration, token: str) -> str:
    return f"{settings.YINGJI_BASE_URL}/integrations/{integration.kind}/{token}"


def add_integration(actor: Actor, kind: str, name: str, every: int | None = None, grace: int = 0,
                    system: str = "") -> tuple[Integration, str]:
    """A new integration and its token; only the token's hash is kept, so the URL is shown once. A
    heartbeat says how often it checks in and which system its silence is about."""
    require(actor, "integrations")
    if kind not in Integration.Kind.values:
        raise BadInput("kind", _("Must be one of: %(v)s") % {"v": ", ".join(Integration.Kind.values)})
    if kind == Integration.Kind.HEARTBEAT:
        current = published()
        if not every or not 60 <= every <= 7 * 86400:
            raise BadInput("every", _("A heartbeat checks in every 1 minute to 7 days."))
        if not 0 <= grace <= 86400:
            raise BadInput("grace", _("At most one day of grace."))
        if current is None or current[1].system(system) is None:
            raise BadInput("system", _("Say which system of the plan its silence is about."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BadInput("name", _("Give it a name of at most 100 characters."))
    token = secrets.token_urlsafe(24)
    with audit.writing():
        if Integration.objects.filter(name=name).exists():
            raise BadInput("name", _("An integration of that name exists; rotate its token instead."))
        integration = Integration.objects.create(kind=kind, name=name, token_hash=intake.token_hash(token),
                                                 created_at=clock.now(), created_by=actor_name(actor),
                                                 every=every if kind == "heartbeat" else None, grace=grace,
                                                 system=system if kind == "heartbeat" else "")
        audit.append(actor_name(actor), "integration.added", "integration", integration.pk,
                     {"kind": kind, "name": name, "every": integration.every, "system": integration.system})
        if integration.every:  # silent from the start counts too
            intake.expect_heartbeat(integration, integration.created_at)
    return integration, token


def rotate_token(actor: Actor, integration: Integration) -> str:
    """A new secret URL; the old one answers 404 from now on."""
    require(actor, "integrations")
    token = secrets.token_urlsafe(24)
    with audit.writing():
        Integration.objects.filter(pk=integration.pk).update(token_hash=intake.token_hash(token),
                                                            rotated_at=clock.now())
        audit.append(actor_name(actor), "integration.rotated", "integration", integration.pk,
                     {"name": integration.name})
    intake.forget_tokens()
    return token


LONGEST_SILENCE = timedelta(days=30)  # a maintenance window, not a way to switch a monitor off
MAX_MATCHERS = 10


def create_silence(actor: Actor, *, system: str = "", labels: dict[str, Any] | None = None,
                   starts_at: datetime, ends_at: datetime, reason: str, announce: bool = False) -> Silence:
    """Mute what matches from `starts_at` to `ends_at`, with who and why on the chain; the end is a
    timer that routes the alerts still firing then."""
    require(actor, "silence")
    current = published()
    if system and (current is None or current[1].system(system) is None):
        raise BadInput("system", _("Unknown system %(code)s.") % {"code": system})
    matchers = {str(k)[:64]: str(v) for k, v in (labels or {}).items()}
    if len(matchers) > MAX_MATCHERS:
        raise BadInput("labels", _("At most %(n)s labels.") % {"n": MAX_MATCHERS})
    for name, pattern in matchers.items():
        try:
            re.compile(pattern)
        except re.error:
            raise BadInput("labels", _("%(name)s: not a regular expression.") % {"name": name}) from None
    if not system and not matchers:
        raise BadInput("system", _("Say which system or which labels it silences; it may not silence everything."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise BadInput("reason", _("Say why, in at most 500 characters."))
    if ends_at <= starts_at:
        raise BadInput("ends_at", _("It must end after it starts."))
    if ends_at - starts_at > LONGEST_SILENCE or ends_at <= clock.now():
        raise BadInput("ends_at", _("It must end in the future, at most 30 days after it starts."))
    with audit.writing():
        silence = Silence.objects.create(system=system, labels=matchers, starts_at=starts_at, ends_at=ends_at,
                                         reason=reason, announce=announce, created_at=clock.now(),
                                         created_by=actor_name(actor))
        timers.schedule("silence_end", f"silence:{silence.pk}:end", ends_at, payload={"silence": silence.pk})
        audit.append(actor_name(actor), "silence.created", "silence", silence.pk, {
            "system": system, "labels": matchers, "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "reason": reason, "announce": announce})
    return silence


def end_silence(actor: Actor, silence: Silence) -> Silence:
    """End it now: what it held back and still fires is routed at once."""
    require(actor, "silence")
    with audit.writing():
        silence = Silence.objects.get(pk=silence.pk)
        if silence.ended_at or silence.ends_at <= clock.now():
            raise InvalidTransition(_("This silence has already ended."), allowed=[])
        silence.ended_at, silence.ended_by = clock.now(), actor_name(actor)
        silence.save(update_fields=["ended_at", "ended_by"])
        timers.settle(f"silence:{silence.pk}:end", timers.Timer.State.CANCELLED, by=actor_name(actor))
        audit.append(actor_name(actor), "silence.ended", "silence", silence.pk, {"early": True})
        released(silence)
    return silence


def released(silence: Silence) -> int:
    """The silence is over: its alerts still firing are routed now. Returns how many."""
    current = published()
    held = list(Alert.objects.filter(silenced_by=silence, status=Alert.Status.FIRING))
    Alert.objects.filter(silenced_by=silence).update(silenced_by=None)
    if current is not None:
        for alert in held:
            alert.silenced_by = None
            intake.route(alert, current[1])
    return len(held)


@timers.handler("silence_end")
def _silence_over(timer: timers.Timer) -> None:
    silence = Silence.objects.filter(pk=timer.payload.get("silence")).first()
    if silence is not None and silence.ended_at is None:
        audit.append("worker", "silence.ended", "silence", silence.pk, {"early": False,
                                                                         "released": released(silence)})
