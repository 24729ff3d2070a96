"""Failed web logins: django-axes counts and locks; this module puts locks on the audit chain,
unlocks for admins, and shows the person who is locked out whom to call.

Axes locks an account after settings.AXES_FAILURE_LIMIT failures from anywhere, and an address
after as many failures on any accounts, for settings.AXES_COOLOFF_TIME. A try while locked counts
too and starts the wait again, so the chain gets one entry when a lock begins, not one per try.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from yingji.core import audit
from yingji.core.actors import Actor, SystemActor, actor_name

# The audit chain names who did it: a lock is done by the login guard, not by the person typing.
LOGIN_GUARD = SystemActor("login-guard")


def client_address(request: HttpRequest) -> str | None:
    """The address a lock applies to. Behind a proxy every request comes from the proxy, so its
    X-Forwarded-For (the last entry, the one the proxy itself appended) names the workstation."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.YINGJI_BEHIND_PROXY and forwarded:
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))  # what a misconfigured proxy passes on is not stored
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def _failures(**match: str) -> int:
    """Failures still counting (within the cool-off) for one account or one address."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(attempt_time__gte=since, **match).aggregate(n=Sum("failures_since_start"))
    return int(total["n"] or 0)


def newly_locked(username: str | None, address: str | None) -> list[str]:
    """What this failure has just locked: each failure adds one to both counts, so a count at
    exactly the limit is a lock that begins now; above it the lock was already on the chain."""
    limit = settings.AXES_FAILURE_LIMIT
    locked = []
    if username and _failures(username=username) == limit:
        locked.append("account")
    if address and _failures(ip_address=address) == limit:
        locked.append("address")
    return locked


def record_lock(sender: Any, request: HttpRequest, username: str | None, ip_address: str | None,
                **kwargs: Any) -> None:
    """axes' user_locked_out signal: the lock goes on the audit chain once, when it begins."""
    locked = newly_locked(username, ip_address)
    if not locked:
        return
    from .models import User

    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    with audit.writing():
        audit.append(actor_name(LOGIN_GUARD), "login.locked", "user", user_id, {
            "username": username or "", "address": ip_address or "", "locked": locked,
            "failures": settings.AXES_FAILURE_LIMIT, "minutes": _lock_minutes()})


def unlock(actor: Actor, username: str | None = None, address: str | None = None) -> int:
    """Clear the failures that lock an account and/or an address, on the audit chain; returns
    how many attempt records were cleared (0 when nothing was locked, which is still logged:
    the admin's act is what the assessor asks about)."""
    if not username and not address:
        raise ValueError("unlock needs a user name or an address")
    from .models import User

    cleared = 0
    if username:
        cleared += reset(username=username)
    if address:
        cleared += reset(ip=address)
    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    with audit.writing():
        audit.append(actor_name(actor), "login.unlocked", "user", user_id, {
            "username": username or "", "address": address or "", "cleared": cleared})
    return cleared


def _lock_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def _whom_to_call() -> str:
    """The plan's information-center hotline, else the emergency office's number."""
    from yingji.plans.store import published

    current = published()
    if current is None:
        return ""
    plan = current[1]
    return plan.hospital.it_hotline or plan.organization.office.phone or ""


def locked_out_page(request: HttpRequest, original_response: HttpResponse | None = None,
                    credentials: dict | None = None) -> HttpResponse:
    """What a locked-out person sees instead of axes' one-line message: a page in their language
    that says what is locked, for how long and whom to call. 429, with Retry-After."""
    minutes = _lock_minutes()
    response = render(request, "web/locked.html", {"minutes": minutes, "phone": _whom_to_call()}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
