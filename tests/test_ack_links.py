"""An ack link acknowledges only when its button is pressed, and the entry says whose link it was.

Chat apps, mail scanners and link previews fetch every link they are given (HEAD, then GET);
none of that may acknowledge a page on the person's behalf.
"""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from yingji.accounts.models import User
from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident
from yingji.notify.models import Message

from .conftest import report


def _paged(api: Any) -> tuple[dict[str, Any], Message, str]:
    incident = report(api("nurse-wang"))
    message = Message.objects.filter(incident_id=incident["id"], needs_ack=True).order_by("id").first()
    assert message is not None
    path = re.search(r"https?://[^/\s]+(/ack/\S+)", message.body)[1]  # type: ignore[index]
    return incident, message, path


def test_a_link_preview_fetching_the_link_acknowledges_nothing(api: Any) -> None:
    _, message, path = _paged(api)
    preview = Client(HTTP_USER_AGENT="Slackbot-LinkExpanding 1.0")
    assert preview.head(path).status_code == 200
    shown = preview.get(path)
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert 'id="ack-button"' in shown.content.decode() and message.name in shown.content.decode()
    assert preview.options(path).status_code == 405
    message.refresh_from_db()
    assert message.acked_at is None and Incident.objects.get().status == "reported"
    assert not AuditEntry.objects.filter(action="page.acknowledged").exists()


def test_pressing_the_button_acknowledges_once_naming_the_link_address_and_browser(api: Any) -> None:
    _, message, path = _paged(api)
    phone = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone)", REMOTE_ADDR="10.1.2.3")
    assert phone.post(path).status_code == 302  # CSRF-exempt: a phone has no session
    assert phone.post(path).status_code == 302
    message.refresh_from_db()
    assert message.acked_via == "link" and Incident.objects.get().status == "acknowledged"
    [entry] = AuditEntry.objects.filter(action="page.acknowledged")
    assert entry.actor.startswith(message.name)
    assert entry.data["person"] == message.person
    assert entry.data["address"] == "10.1.2.3" and entry.data["user_agent"] == "Mozilla/5.0 (iPhone)"
    again = phone.get(path).content.decode()
    assert 'id="ack-button"' not in again and 'id="ack-result"' in again


def test_a_signed_in_user_pressing_someone_s_link_is_named(api: Any) -> None:
    _, message, path = _paged(api)
    elsewhere = Client(HTTP_ORIGIN="https://evil.example")  # a form on another site posting the link
    elsewhere.force_login(User.objects.get(username="info-deputy"))
    elsewhere.post(path)
    [entry] = AuditEntry.objects.filter(action="page.acknowledged")
    assert entry.actor.startswith(message.name) and entry.data["person"] == message.person
    AuditEntry.objects.filter(pk=entry.pk).delete()
    Message.objects.filter(pk=message.pk).update(acked_at=None)
    browser = Client(HTTP_ORIGIN="http://testserver")  # the button on this site's page
    browser.force_login(User.objects.get(username="info-deputy"))
    browser.post(path)
    [entry] = AuditEntry.objects.filter(action="page.acknowledged")
    assert entry.actor == "info-deputy" and entry.data["person"] == message.person


def test_only_the_person_paged_or_the_office_acknowledges_through_the_api(api: Any) -> None:
    incident, message, _ = _paged(api)
    paged = User.objects.filter(person=message.person).first()
    for username in ("eng-net", "dean", "auditor", "cashier-head"):
        if paged is None or username != paged.username:
            refused = api(username).post(f"/notifications/{message.pk}/ack")
            assert refused.status_code == 403, username
            assert refused.json()["action"] == "acknowledge"
    assert Message.objects.get(pk=message.pk).acked_at is None
    assert api("info-director").post(f"/notifications/{message.pk}/ack").status_code == 200
    assert Incident.objects.get(pk=incident["id"]).status == "acknowledged"


def test_someone_without_a_person_code_cannot_acknowledge_a_page_to_nobody(api: Any) -> None:
    incident, message, _ = _paged(api)
    Message.objects.filter(pk=message.pk).update(person="")
    User.objects.filter(username="eng-net").update(person="")
    assert api("eng-net").post(f"/notifications/{message.pk}/ack").status_code == 403
    assert Incident.objects.get(pk=incident["id"]).status == "reported"
