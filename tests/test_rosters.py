"""On-duty rosters in local wall-clock time: handover stays at 08:00 across DST; overrides and swaps win."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.models import AuditEntry
from yingji.oncall import actions
from yingji.oncall.checks import warnings
from yingji.oncall.models import CalendarFeed
from yingji.oncall.rosters import duty_at, rotation_duty, timeline
from yingji.plans.loader import template_text
from yingji.plans.schema import Plan

MEMBERS = ["eng-duty", "eng-net", "eng-sys"]


def plan_with(zone: str, rotation: str = "daily") -> Plan:
    data: dict[str, Any] = yaml.safe_load(template_text("zh"))
    data["rosters"] = [{"code": "r", "name": "R", "group": "technical", "rotation": rotation, "handover": "08:00",
                        "timezone": zone, "start": "2026-03-01", "members": MEMBERS}]
    return Plan.model_validate(data)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_berlin_handover_stays_at_eight_on_the_wall_clock_across_spring_forward(db: Any) -> None:
    plan = plan_with("Europe/Berlin")
    roster = plan.roster("r")
    assert roster is not None
    # 2026-03-29 02:00 CET -> 03:00 CEST. 08:00 local is 07:00 UTC before, 06:00 UTC after.
    before = rotation_duty(plan, roster, utc(2026, 3, 29, 5, 59))
    after = rotation_duty(plan, roster, utc(2026, 3, 29, 6, 0))
    assert before.person != after.person
    assert before.starts_at.astimezone(UTC) == utc(2026, 3, 28, 7, 0)
    assert before.ends_at - before.starts_at == timedelta(hours=23)  # the short night
    assert after.starts_at.astimezone(UTC) == utc(2026, 3, 29, 6, 0)


def test_berlin_autumn_shift_is_25_hours(db: Any) -> None:
    plan = plan_with("Europe/Berlin")
    roster = plan.roster("r")
    assert roster is not None
    duty = rotation_duty(plan, roster, utc(2026, 10, 25, 12, 0))  # 2026-10-25 03:00 CEST -> 02:00 CET
    previous = rotation_duty(plan, roster, utc(2026, 10, 25, 6, 59))
    assert (previous.ends_at - previous.starts_at) == timedelta(hours=25)
    assert duty.starts_at.astimezone(UTC) == utc(2026, 10, 25, 7, 0)


def test_shanghai_daily_and_weekly_rotations(db: Any) -> None:
    plan = plan_with("Asia/Shanghai")
    roster = plan.roster("r")
    assert roster is not None
    # 08:00 in Shanghai is 00:00 UTC; the first shift (2026-03-01) is the first member's.
    assert rotation_duty(plan, roster, utc(2026, 3, 1, 0, 0)).person == "eng-duty"
    assert rotation_duty(plan, roster, utc(2026, 2, 28, 23, 59)).person == "eng-sys"  # before the start: wraps
    assert rotation_duty(plan, roster, utc(2026, 3, 2, 0, 0)).person == "eng-net"
    assert rotation_duty(plan, roster, utc(2026, 3, 4, 0, 0)).person == "eng-duty"
    weekly = plan_with("Asia/Shanghai", "weekly")
    roster = weekly.roster("r")
    assert roster is not None
    assert rotation_duty(weekly, roster, utc(2026, 3, 7, 23, 59)).person == "eng-duty"
    assert rotation_duty(weekly, roster, utc(2026, 3, 8, 0, 0)).person == "eng-net"


def test_an_override_wins_and_a_swap_trades_two_shifts(db: Any) -> None:
    plan = plan_with("Europe/Berlin")
    roster = plan.roster("r")
    assert roster is not None
    at = utc(2026, 3, 10, 12, 0)
    first = rotation_duty(plan, roster, at).person
    actions.override(CLI, plan, roster, "eng-db", at - timedelta(hours=1), at + timedelta(hours=1), "sick leave")
    assert duty_at(plan, roster, at).person == "eng-db"
    assert duty_at(plan, roster, at + timedelta(hours=2)).person == first
    a, b = date(2026, 3, 12), date(2026, 3, 13)
    person_a = rotation_duty(plan, roster, utc(2026, 3, 12, 12)).person
    person_b = rotation_duty(plan, roster, utc(2026, 3, 13, 12)).person
    actions.swap(CLI, plan, roster, a, b, "family")
    assert duty_at(plan, roster, utc(2026, 3, 12, 12)).person == person_b
    assert duty_at(plan, roster, utc(2026, 3, 13, 12)).person == person_a
    spans = timeline(plan, roster, utc(2026, 3, 10, 0), utc(2026, 3, 11, 0))
    night = rotation_duty(plan, roster, utc(2026, 3, 10, 0)).person  # 01:00 local: yesterday's shift
    assert [s.person for s in spans] == [night, first, "eng-db", first]
    assert spans[1].starts_at == utc(2026, 3, 10, 7) and spans[2].starts_at == at - timedelta(hours=1)


def test_an_override_needs_the_office_and_a_known_person(api: Any) -> None:
    body = {"person": "eng-db", "starts_at": "2026-11-22T08:00:00+08:00", "ends_at": "2026-11-23T08:00:00+08:00"}
    assert api("eng-duty").post("/rosters/it-duty/overrides", body).status_code == 403
    assert api("info-director").post("/rosters/it-duty/overrides", {**body, "person": "nobody"}).status_code == 400
    assert api("info-director").post("/rosters/it-duty/overrides", body).status_code == 201
    clock.freeze(datetime.fromisoformat("2026-11-22T12:00:00+08:00"))
    now = api("eng-duty").get("/rosters/it-duty/oncall").json()
    assert now["person"]["code"] == "eng-db" and now["override"] is True
    assert api("eng-duty").get("/rosters/nope/oncall").status_code == 404


def _calendar_link(username: str, kind: str, code: str) -> tuple[Client, str, int]:
    """Make a calendar link on the rosters page as `username`; the page shows it once."""
    web = Client()
    web.force_login(User.objects.get(username=username))
    response = web.post("/calendars", {"kind": kind, "code": code}, follow=True)
    page = response.content.decode()
    url = re.search(r'id="new-calendar">.*?<code>(http://[^<]+)</code>', page, re.S)[1]  # type: ignore[index]
    assert url not in web.get("/rosters").content.decode()  # shown once
    return web, urlparse(url).path, CalendarFeed.objects.order_by("-id").first().pk  # type: ignore[union-attr]


def test_ical_feeds_per_roster_and_per_person_need_their_secret_link(demo: Any) -> None:
    clock.freeze(utc(2026, 11, 22, 4, 0))
    assert Client().get("/rosters/it-duty.ics").status_code == 410  # the roster code alone opens nothing
    assert Client().get("/people/eng-net.ics").status_code == 410
    _, path, _feed = _calendar_link("nurse-wang", "roster", "it-duty")
    body = Client().get(path)
    assert body.status_code == 200 and body["Content-Type"].startswith("text/calendar")
    text = body.content.decode()
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VEVENT") >= 70  # 74 days of daily shifts
    assert "DTSTART:20261122T000000Z" in text  # 08:00 Shanghai
    assert not re.search(r"1[3-9]\d{9}", text) and "DESCRIPTION" not in text  # no phone numbers
    owner, mine_path, feed = _calendar_link("eng-net", "person", "eng-net")
    mine = Client().get(mine_path).content.decode()
    assert 15 <= mine.count("BEGIN:VEVENT") <= 20 and "陈强" in mine
    assert Client().get("/calendars/guessed-token.ics").status_code == 404

    # Someone else's shifts need the office; a link is revoked by its maker (or the office).
    nurse = Client()
    nurse.force_login(User.objects.get(username="nurse-wang"))
    nurse.post("/calendars", {"kind": "person", "code": "eng-net"})
    assert CalendarFeed.objects.filter(kind="person", created_by="nurse-wang").count() == 0
    nurse.post(f"/calendars/{feed}/revoke")
    assert Client().get(mine_path).status_code == 200
    owner.post(f"/calendars/{feed}/revoke")
    assert Client().get(mine_path).status_code == 404
    assert AuditEntry.objects.filter(action="calendar_feed.revoked", subject_id=feed).exists()


def test_warnings_name_people_who_cannot_be_reached(demo: Any, settings: Any, monkeypatch: Any) -> None:
    settings.YINGJI_EMAIL_URL = "smtp://127.0.0.1:2525"
    monkeypatch.delenv("YINGJI_SMS_URL", raising=False)
    found = warnings(demo, clock.now())
    assert any("王建国" in w for w in found)  # the dean: a mobile but SMS is not configured, no email
    assert not any("陈强" in w for w in found)  # has an email
    monkeypatch.setenv("YINGJI_SMS_URL", "json://127.0.0.1:9/sms?:to={mobile}")
    assert not any("王建国" in w for w in warnings(demo, clock.now()))


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CET+1"])
def test_an_unknown_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="IANA"):
        plan_with(zone)


def test_the_on_duty_page_leads_with_the_channel_that_is_not_configured(demo: Any, settings: Any,
                                                                         monkeypatch: Any) -> None:
    """One line naming the cause and its fix, then who it leaves unreachable, not 25 warnings."""
    settings.YINGJI_EMAIL_URL = ""
    monkeypatch.delenv("YINGJI_SMS_URL", raising=False)
    found = warnings(demo, clock.now())
    assert found[0].startswith("短信无法呼叫任何人") or found[0].startswith("邮件无法呼叫任何人"), found
    assert any("YINGJI_SMS_URL" in w for w in found[:2]) and any("YINGJI_EMAIL_URL" in w for w in found[:2])
    assert len([w for w in found if "王建国" in w]) == 1  # named once, in the line of those left out
    assert len(found) <= 4


def test_an_overlapping_override_is_said_not_silent(demo: Any) -> None:
    """The newest override wins where two overlap; the chain and the office's page say which it replaced."""
    office = Client()
    office.force_login(User.objects.get(username="info-director"))
    first = office.post("/rosters/it-duty/override", {"person": "eng-db", "starts_at": "2026-12-10T08:00",
                                                      "ends_at": "2026-12-11T08:00", "reason": "病假"}, follow=True)
    assert "取代" not in first.content.decode()
    second = office.post("/rosters/it-duty/override", {"person": "eng-net", "starts_at": "2026-12-10T20:00",
                                                       "ends_at": "2026-12-11T20:00"}, follow=True)
    assert "此安排在重叠时段内取代 孙敏 从 12-10 08:00 到 12-11 08:00 的值班" in second.content.decode()
    entry = AuditEntry.objects.filter(action="roster.override").order_by("-id").first()
    assert entry is not None and len(entry.data["overrides"]) == 1


def test_the_ical_feed_has_whole_shifts_and_the_same_uids_on_every_fetch(demo: Any) -> None:
    """A feed fetched an hour later must not clip its first shift nor change its UID."""
    from yingji.oncall import ical

    roster = demo.roster("it-duty")
    first = ical.calendar(demo, roster.name, [(roster, d) for d in ical.spans(demo, roster)])
    clock.advance(timedelta(hours=1, minutes=7))
    later = ical.calendar(demo, roster.name, [(roster, d) for d in ical.spans(demo, roster)])
    uids = [re.findall(r"UID:(\S+)", text) for text in (first, later)]
    assert uids[0] == uids[1] and len(uids[0]) > 60
    # Every event starts on a handover (08:00 in Asia/Shanghai, 00:00 UTC), the first one included.
    starts = re.findall(r"DTSTART:(\d{8}T\d{6}Z)", first)
    assert all(s.endswith("T000000Z") for s in starts), starts[:3]
