"""Sending one delivery: Django's mail for email, apprise for everything else.

apprise speaks WeCom/DingTalk/Feishu bots and generic JSON/form webhooks (which is what SMS
gateways take), so none of those protocols is written here.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlparse

import apprise
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext_lazy as _

from yingji.plans.schema import CHANNEL_NEEDS, Channel, Person, Plan

KIND_LABELS = {"email": _("email"), "sms": _("SMS"), "wecom": _("WeCom"), "dingtalk": _("DingTalk"),
               "feishu": _("Feishu"), "webhook": _("webhook")}


def label(plan: Plan | None, code: str) -> str:
    """A channel as people call it ("短信"), from its kind; the plan's code when it is not in the plan."""
    channel = plan.channel(code) if plan else None
    return str(KIND_LABELS.get(channel.kind, channel.kind)) if channel else code


def setting_of(channel: Channel) -> str:
    """Where the channel's address is set: the environment variable to fill in, or the plan."""
    if channel.kind == "email":
        return "YINGJI_EMAIL_URL"
    return channel.url_env or str(_("the url of channel %(code)s in the plan") % {"code": channel.code})


class NotConfigured(Exception):
    """The channel has no URL (an unset environment variable, no YINGJI_EMAIL_URL)."""


class SendFailed(Exception):
    pass


def smtp_options(url: str) -> tuple[str, dict[str, Any]]:
    """(from address, SMTP backend options) out of YINGJI_EMAIL_URL."""
    parts = urlparse(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise NotConfigured(f"YINGJI_EMAIL_URL must start with smtp:// or smtps://, not {parts.scheme}://")
    query = dict(parse_qsl(parts.query))
    return query.get("from", "yingji@localhost"), {
        "host": parts.hostname or "localhost", "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "username": unquote(parts.username or ""), "password": unquote(parts.password or ""),
        "use_ssl": parts.scheme == "smtps", "use_tls": query.get("starttls") == "1", "timeout": 10}


def channel_url(channel: Channel) -> str | None:
    if channel.kind == "email":
        return settings.YINGJI_EMAIL_URL or None
    if channel.url_env:
        return os.environ.get(channel.url_env) or None
    return channel.url


def not_configured_reason(channel: Channel) -> str:
    """Why a channel cannot send, in the active language (the plan's, where deliveries are written)."""
    if channel.kind == "email":
        return str(_("not configured: set %(variable)s") % {"variable": "YINGJI_EMAIL_URL"})
    if channel.url_env:
        return str(_("not configured: set %(variable)s") % {"variable": channel.url_env})
    return str(_("not configured: the channel has no URL"))


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
        sender, options = smtp_options(url)
        connection = get_connection("django.core.mail.backends.smtp.EmailBackend", **options)
        EmailMessage(subject, body, sender, [address], connection=connection).send()
        return
    filled = url.format(mobile=quote(address), email=quote(address), person=quote(person_code))
    notifier = apprise.Apprise()
    if not notifier.add(filled):
        raise SendFailed(f"apprise does not understand the URL of channel {channel.code!r}")
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(body=body, title=subject)
    if not ok:
        raise SendFailed(captured.getvalue().strip()[-1000:] or "apprise reported a failed send")
