"""The audit chain's head, mailed to the office once a day.

Anchors in a file on the same machine stop an outsider who reaches only the database; someone
with the whole machine could cut both. A head that went out by mail the morning before cannot
be called back, so the office holds a copy nobody on the server can change. Sent only where
email is configured (YINGJI_EMAIL_URL), to the office's users with a plan person and an email
channel; a durable timer makes it once a day however many workers run.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings

from yingji.accounts.models import User
from yingji.core import audit, clock
from yingji.core.models import AuditEntry
from yingji.plans.store import published
from yingji.timers import service as timers
from yingji.timers.models import Timer

from .models import Message
from .service import enqueue_plain

KIND = "audit_digest"


def next_send_at(now: datetime, zone: object) -> datetime:
    """The next digest hour on the hospital's wall clock, after `now`."""
    local = now.astimezone(zone)  # type: ignore[arg-type]
    at = datetime.combine(local.date(), time(settings.YINGJI_AUDIT_DIGEST_HOUR), tzinfo=local.tzinfo)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), time(settings.YINGJI_AUDIT_DIGEST_HOUR),
                              tzinfo=local.tzinfo)
    return at


def _schedule_next() -> None:
    current = published()
    if current is None or not settings.YINGJI_EMAIL_URL:
        return
    due = next_send_at(clock.now(), current[1].hospital.zone())
    timers.schedule(KIND, f"audit:digest:{due.date().isoformat()}", due)


@timers.auditor
def digest_scheduled() -> int:
    """Keeps tomorrow's digest on the calendar; starting it is not a fault, so it reports 0."""
    if not Timer.objects.filter(kind=KIND, state=Timer.State.PENDING).exists():
        _schedule_next()
    return 0


@timers.handler(KIND)
def send_digest(timer: Timer) -> None:
    current = published()
    if current is not None:
        plan = current[1]
        head = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
        count = AuditEntry.objects.filter(id__lte=head[0]).count() if head else 0  # the same chain as the head
        office = list(User.objects.filter(role="office", is_active=True).exclude(person="")
                      .values_list("person", flat=True))
        if head is not None and office:
            context = {"date": clock.now().astimezone(plan.hospital.zone()).date().isoformat(), "count": count,
                       "last_id": head[0], "head": head[1], "hospital": plan.hospital.name}
            enqueue_plain(plan, Message.Kind.DIGEST, office, "audit_digest", context, channel_kinds=("email",))
            audit.append("worker", "audit.digest", "system", None,
                         {"count": count, "last_id": head[0], "head": head[1], "to": office})
    _schedule_next()
