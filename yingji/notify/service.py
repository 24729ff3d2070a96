"""The outbox: write messages in the caller's transaction, send them from the worker.

`enqueue` is called by actions (inside their transaction), so a page exists exactly when the
change that caused it committed. `deliver_due` runs in the worker: it claims deliveries like
timers, sends them in a small thread pool outside any transaction, then records each attempt.
A worker killed between sending and recording re-sends after the lease: at least once, never
silently lost.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from yingji.accounts.models import User
from yingji.core import audit, clock
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of, published
from yingji.timers.service import claim

from . import channels
from .models import Delivery, Message
from .templates import TEMPLATES

if TYPE_CHECKING:
    from yingji.incidents.models import DepartmentTask, Incident

log = logging.getLogger("yingji.notify")
SIGNER_SALT = "yingji.ack"

class _Keep(dict[str, Any]):
    """A placeholder the template names but the context lacks stays visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Set by the tests: a sender whose context is not what its template declares fails there. In
# production it is logged and the message still goes out.
STRICT = False


def render(plan: Plan, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """A message's subject and body: the plan's wording of the template if it has one, else
    Yingji's, in the plan's language. `TEMPLATES` says which placeholders each may use."""
    spec = TEMPLATES[template]
    if set(context) != set(spec.allowed):
        problem = (f"message template {template!r} was sent with {sorted(context)}, "
                   f"but declares {sorted(spec.allowed)}")
        if STRICT:
            raise AssertionError(problem)
        log.error(problem)
    values = _Keep(context)
    own = plan.messages.get(template)
    if own is not None:
        try:
            return own.subject.format_map(values)[:300], own.body.format_map(values)
        except (ValueError, AttributeError, IndexError, KeyError):
            # A plan imported before its messages were checked ("{", "{a.b}"): the page still goes out.
            log.exception("the plan's wording of %r cannot be filled in; Yingji's own is used", template)
    with translation.override(plan.hospital.language):
        subject, body = str(spec.subject), str(spec.body)
    return subject.format_map(values)[:300], body.format_map(values)


def ack_token(key: str) -> str:
    return signing.TimestampSigner(salt=SIGNER_SALT).sign(key)


def ack_url(key: str) -> str:
    return f"{settings.YINGJI_BASE_URL}/ack/{ack_token(key)}"


def incident_url(incident: Incident) -> str:
    return f"{settings.YINGJI_BASE_URL}/incidents/{incident.number}"


def message_for_token(token: str) -> Message:
    """The message a link acknowledges. Raises signing.BadSignature (or SignatureExpired)."""
    signer = signing.TimestampSigner(salt=SIGNER_SALT)
    key = signer.unsign(token)
    message = Message.objects.select_related("incident").get(ack_key=key)
    plan = plan_of(message.incident.plan_version_id) if message.incident else None
    if plan is not None:
        signer.unsign(token, max_age=plan.notifications.ack_valid)
    return message


def profiles() -> dict[str, dict[str, str]]:
    """Addresses from user profiles, for people whose plan entry lacks them."""
    return {u.person: {"email": u.email, "mobile": u.phone}
            for u in User.objects.exclude(person="").only("person", "email", "phone")}


@dataclass
class Recipient:
    person: str  # plan code, or "" for a reporter known only by phone
    name: str
    mobile: str = ""


def enqueue(incident: Incident, kind: str, people: Iterable[str], template: str, context: dict[str, Any], *,
            needs_ack: bool = False, step: int = 0, task: DepartmentTask | None = None) -> list[Message]:
    plan = plan_of(incident.plan_version_id)
    recipients = [Recipient(code, p.name if (p := plan.person(code)) else code) for code in people]
    return _write(plan, incident, kind, recipients, template, context, needs_ack, step, task)


def enqueue_reporters(incident: Incident, reporters: list[tuple[str, str]], template: str,
                      context: dict[str, Any]) -> list[Message]:
    """Reporters are not plan people: reach them by the phone they left, on the plan's SMS channel."""
    plan = plan_of(incident.plan_version_id)
    recipients = [Recipient("", name or mobile, mobile) for name, mobile in reporters]
    return _write(plan, incident, Message.Kind.RESTORED, recipients, template, context, False, 0, None)


def enqueue_plain(plan: Plan, kind: str, people: Iterable[str], template: str, context: dict[str, Any],
                  channel_kinds: tuple[str, ...]) -> list[Message]:
    """Something said to plan people that is not about one incident (the audit digest), on some channels."""
    recipients = [Recipient(code, p.name if (p := plan.person(code)) else code) for code in people]
    return _write(plan, None, kind, recipients, template, context, False, 0, None, channel_kinds)


def _write(plan: Plan, incident: Incident | None, kind: str, recipients: list[Recipient], template: str,
           context: dict[str, Any], needs_ack: bool, step: int, task: DepartmentTask | None,
           channel_kinds: tuple[str, ...] | None = None) -> list[Message]:
    now = clock.now()
    messages = []
    for recipient in recipients:
        key = secrets.token_urlsafe(12)
        url = ack_url(key) if needs_ack else incident_url(incident) if incident else settings.YINGJI_BASE_URL
        subject, body = render(plan, template, {**context, "url": url, "name": recipient.name})
        messages.append(Message(incident=incident, task=task, kind=kind, person=recipient.person,
                                name=recipient.name, subject=subject, body=body, step=step,
                                needs_ack=needs_ack, ack_key=key, created_at=now))
    Message.objects.bulk_create(messages)
    known = profiles() if any(r.person for r in recipients) else {}
    deliveries = []
    for message, recipient in zip(messages, recipients, strict=True):
        person = plan.person(recipient.person) if recipient.person else None
        if recipient.person:
            methods = channels.channels_for(plan, person)
        else:  # a reporter: SMS channels only
            methods = [c for c in plan.notifications.channels if c.kind == "sms"]
        if channel_kinds is not None:
            methods = [c for c in methods if c.kind in channel_kinds]
        for channel in methods:
            profile = known.get(recipient.person, {}) if recipient.person else {"mobile": recipient.mobile}
            address = channels.address_for(channel, person, profile)
            if address is None:
                continue
            with translation.override(plan.hospital.language):
                problem = None if channels.channel_url(channel) else channels.not_configured_reason(channel)
            deliveries.append(Delivery(
                message=message, channel=channel.code, kind=channel.kind, address=address, due_at=now,
                state=Delivery.State.FAILED if problem else Delivery.State.QUEUED, last_error=problem or "",
                log=[{"at": now.isoformat(), "ok": False, "error": problem}] if problem else []))
    Delivery.objects.bulk_create(deliveries)
    return messages


def paged_people(incident: Incident) -> list[str]:
    """Everyone asked to act on this incident so far, in the order they were first asked."""
    codes = (Message.objects.filter(incident=incident, kind__in=Message.PAGED).exclude(person="")
             .order_by("id").values_list("person", flat=True))
    return list(dict.fromkeys(codes))


@dataclass
class ChannelProblem:
    """Deliveries on one channel that reached nobody (or only some), said once with the fix."""

    channel: str
    text: str
    failed: int
    sent: int


def delivery_problems(plan: Plan, deliveries: QuerySet[Delivery], contacts: bool) -> list[ChannelProblem]:
    """One sentence per channel whose deliveries failed: "nobody could be reached on SMS: it is not
    configured (set YINGJI_SMS_URL)". One GROUP BY, so a storm of pages is still one banner. The
    last error can quote an address, so it is shown whole only to roles that page people."""
    counts: dict[str, dict[str, int]] = {}
    for channel, state, n in (deliveries.values_list("channel", "state").annotate(n=Count("id"))
                              .order_by("channel")):
        counts.setdefault(channel, {})[state] = n
    problems = []
    for code, states in counts.items():
        failed, sent = states.get(Delivery.State.FAILED, 0), states.get(Delivery.State.SENT, 0)
        if not failed:
            continue
        channel = plan.channel(code)
        name = channels.label(plan, code)
        if channel is not None and channels.channel_url(channel) is None:
            text = _("Nobody could be reached on %(channel)s: it is not configured (set %(setting)s).") % {
                "channel": name, "setting": channels.setting_of(channel)}
        else:
            # A far side's error can quote an endpoint or a bot key: whole only for those who page people.
            last = deliveries.filter(channel=code, state=Delivery.State.FAILED).order_by("-id").first()
            error = last.error_for(contacts) if last and contacts else str(_("ask the information center"))
            text = (_("Nobody could be reached on %(channel)s: %(failed)d deliveries failed; the last error: "
                      "%(error)s") if not sent else
                    _("%(failed)d deliveries on %(channel)s failed (%(sent)d sent); the last error: %(error)s")) % {
                "channel": name, "failed": failed, "sent": sent, "error": error}
        problems.append(ChannelProblem(code, str(text), failed, sent))
    return problems


# -- the worker side -------------------------------------------------------------------------------


@dataclass
class Attempt:
    delivery_id: int
    token: int
    error: str | None = None
    final: bool = False


def _send(delivery: Delivery, plan: Plan | None) -> Attempt:
    attempt = Attempt(delivery.pk, delivery.token)
    channel = plan.channel(delivery.channel) if plan else None
    if channel is None:
        attempt.error, attempt.final = f"channel {delivery.channel!r} is not in the plan", True
        return attempt
    try:
        with translation.override(plan.hospital.language if plan else None):
            channels.send(channel, delivery.address, delivery.message.person, delivery.message.subject,
                          delivery.message.body)
    except channels.NotConfigured as exc:
        attempt.error, attempt.final = str(exc), True
    except Exception as exc:  # any failure of the far side is logged on the row and retried
        attempt.error = f"{type(exc).__name__}: {exc}"[:2000]
    return attempt


def deliver_due(limit: int = 200) -> int:
    """Send what is due; return how many deliveries were attempted."""
    claimed = dict(claim(Delivery, Delivery.State.QUEUED, clock.now(), limit))
    if not claimed:
        return 0
    rows = Delivery.objects.select_related("message", "message__incident").in_bulk(list(claimed))
    current = published()
    plans = {d.pk: plan_of(d.message.incident.plan_version_id) if d.message.incident
             else current[1] if current else None for d in rows.values()}
    for delivery in rows.values():
        delivery.token = claimed[delivery.pk]
    with ThreadPoolExecutor(max_workers=settings.YINGJI_SEND_THREADS) as pool:
        attempts = list(pool.map(lambda d: _send(d, plans[d.pk]), rows.values()))
    _record(attempts, plans)
    return len(attempts)


def _record(attempts: list[Attempt], plans: dict[int, Plan | None]) -> None:
    now = clock.now()
    with audit.writing():
        for attempt in attempts:
            delivery = Delivery.objects.filter(pk=attempt.delivery_id, token=attempt.token).first()
            if delivery is None:
                continue
            delivery.log = [*delivery.log, {"at": now.isoformat(), "ok": attempt.error is None,
                                            "error": attempt.error}]
            delivery.claimed_until = None
            plan = plans.get(delivery.pk)
            retries = plan.notifications.retry if plan else []
            if attempt.error is None:
                delivery.state, delivery.sent_at, delivery.last_error = Delivery.State.SENT, now, ""
            elif attempt.final or delivery.attempts > len(retries):
                delivery.state, delivery.last_error = Delivery.State.FAILED, attempt.error
            else:
                delivery.due_at = now + timedelta(seconds=retries[delivery.attempts - 1])
                delivery.last_error = attempt.error
            delivery.save(update_fields=["log", "claimed_until", "state", "sent_at", "last_error", "due_at"])
            if attempt.error:
                log.warning("delivery %s on %s failed: %s", delivery.pk, delivery.channel, attempt.error)
