"""Sending one delivery: Django's mail for email, apprise for everything else.

apprise speaks WeCom/DingTalk/Feishu bots and generic JSON/form webhooks (which is what SMS
gateways take), so none of those protocols is written here.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import quote

import apprise
from django.conf import settings
from django.core.mail import EmailMessage

from yingji.plans.schema import CHANNEL_NEEDS, Channel, Person, Plan


class NotConfigured(Exception):
    """The channel has no URL (an unset environment variable, no YINGJI_EMAIL_URL)."""


class SendFailed(Exception):
    pass


def channel_url(channel: Channel) -> str | None:
    if channel.kind == "email":
        return settings.YINGJI_EMAIL_URL or None
    if channel.url_env:
        return os.environ.get(channel.url_env) or None
    return channel.url


def not_configured_reason(channel: Channel) -> str:
    if channel.kind == "email":
        return "not configured: set YINGJI_EMAIL_URL"
    if channel.url_env:
        return f"not configured: set {channel.url_env}"
    return "not configured: the channel has no url"


def address_for(channel: Channel, person: Person | None, profile: dict[str, str]) -> str | None:
    """The person's address on this channel, or None when they have none; "" when none is needed."""
    need = CHANNEL_NEEDS[channel.kind]
    if need is None:
        return ""
    value = profile.get(need) or (getattr(person, need, None) if person else None)
    return value or None


def channels_for(plan: Plan, person: Person | None) -> list[Channel]:
    codes = person.channels if person and person.channels is not None else plan.notifications.default_channels
    return [c for code in codes if (c := plan.channel(code))]


def send(channel: Channel, address: str, person_code: str, subject: str, body: str) -> None:
    url = channel_url(channel)
    if url is None:
        raise NotConfigured(not_configured_reason(channel))
    if channel.kind == "email":
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
        return
    filled = url.format(mobile=quote(address), email=quote(address), person=quote(person_code))
    notifier = apprise.Apprise()
    if not notifier.add(filled):
        raise SendFailed(f"apprise does not understand the URL of channel {channel.code!r}")
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(body=body, title=subject)
    if not ok:
        raise SendFailed(captured.getvalue().strip()[-1000:] or "apprise reported a failed send")
