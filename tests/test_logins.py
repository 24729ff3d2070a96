"""The web login: failures lock the account and the address, locks and unlocks are on the audit
chain, logging out and idling end the session on the server, passwords follow Django's rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from yingji.accounts import sessions
from yingji.accounts.models import User
from yingji.cli import main
from yingji.core.audit import verify
from yingji.core.demo import DEMO_PASSWORD
from yingji.core.models import AuditEntry

from .conftest import RESTORE_CHECKS

WORKSTATION = "127.0.0.21"


def log_in(username: str, password: str = DEMO_PASSWORD, address: str = WORKSTATION,
           client: Client | None = None) -> Any:
    client = client or Client()
    return client.post("/login", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(username: str, times: int, address: str = WORKSTATION) -> list[int]:
    return [log_in(username, "not-the-password", address).status_code for _ in range(times)]


def test_an_account_is_locked_after_five_failures_from_anywhere(demo: Any) -> None:
    statuses = [log_in("nurse-wang", "wrong", f"127.0.0.{30 + k}").status_code for k in range(5)]
    assert statuses == [200, 200, 200, 200, 429]

    refused = log_in("nurse-wang", address="127.0.0.99")  # the right password, from a new address
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(15 * 60)
    text = refused.content.decode()
    assert "登录已锁定" in text and "15 分钟" in text
    assert "010-00000000" in text  # whom to call: the plan's information center
    assert "_auth_user_id" not in refused.wsgi_request.session


def test_an_address_is_locked_after_five_failures_on_any_accounts(demo: Any) -> None:
    statuses = [log_in(name, "wrong").status_code for name in ("a1", "a2", "a3", "a4", "a5")]
    assert statuses[-1] == 429

    assert log_in("dean").status_code == 429  # a good login from the locked address
    assert log_in("dean", address="127.0.0.22").status_code == 302  # the account itself is fine


def test_four_failures_do_not_lock_and_the_lock_page_is_english_for_english_readers(demo: Any) -> None:
    assert fail("eng-duty", 4) == [200] * 4
    assert log_in("eng-duty").status_code == 302
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    fail("dean", 5)
    page = log_in("dean", client=english)
    assert page.status_code == 429
    assert "Login locked" in page.content.decode()


def test_a_lock_goes_on_the_audit_chain_once_when_it_begins(demo: Any) -> None:
    fail("nurse-wang", 8)

    locks = list(AuditEntry.objects.filter(action="login.locked"))
    assert len(locks) == 1
    lock = locks[0]
    assert lock.actor == "login-guard"
    assert lock.subject_type == "user" and lock.subject_id == User.objects.get(username="nurse-wang").pk
    assert lock.data == {"username": "nurse-wang", "address": WORKSTATION, "locked": ["account", "address"],
                         "failures": 5, "minutes": 15}
    assert verify().ok


def test_the_lock_lifts_by_itself_after_the_cool_off(demo: Any) -> None:
    fail("nurse-wang", 5)
    assert log_in("nurse-wang").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert log_in("nurse-wang").status_code == 302


def test_an_admin_unlocks_an_account_and_the_unlock_is_on_the_chain(demo: Any, capsys: Any) -> None:
    fail("nurse-wang", 5)

    assert main(["user", "unlock", "nurse-wang"]) == 0
    assert "unlocked user nurse-wang" in capsys.readouterr().out
    assert log_in("nurse-wang").status_code == 302
    unlock = AuditEntry.objects.get(action="login.unlocked")
    assert unlock.actor == "cli"
    assert unlock.data["username"] == "nurse-wang" and unlock.data["cleared"] >= 1


def test_an_admin_unlocks_an_address(demo: Any) -> None:
    for name in ("b1", "b2", "b3", "b4", "b5"):
        log_in(name, "wrong")
    assert log_in("dean").status_code == 429

    assert main(["user", "unlock", "--address", WORKSTATION]) == 0
    assert log_in("dean").status_code == 302
    assert AuditEntry.objects.get(action="login.unlocked").data["address"] == WORKSTATION


def test_unlock_without_a_name_or_an_address_is_refused(demo: Any) -> None:
    assert main(["user", "unlock"]) == 1


def test_logging_out_ends_the_session_on_the_server(demo: Any) -> None:
    client = Client()
    assert log_in("info-director", client=client).status_code == 302
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/incidents/").status_code == 200

    client.post("/logout")

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert replay.get("/incidents/").status_code == 302  # sent to the login page
    assert not Session.objects.filter(session_key=stolen).exists()


def test_a_session_ends_after_thirty_idle_minutes_and_each_request_extends_it(demo: Any) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    log_in("info-director", client=client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=1))

    assert client.get("/incidents/").status_code == 200
    pushed_on = Session.objects.get(session_key=key).expire_date
    assert pushed_on > timezone.now() + timedelta(minutes=29)

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/incidents/").status_code == 302


def test_expired_sessions_are_swept_from_the_database(demo: Any) -> None:
    client = Client()
    log_in("info-director", client=client)
    log_in("dean", address="127.0.0.23")
    Session.objects.filter(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).update(
        expire_date=timezone.now() - timedelta(seconds=1))

    sessions.clear_expired()

    assert Session.objects.count() == 1


@pytest.mark.parametrize("password", ["12345678", "password", "short1", "nurse-wang1"])
def test_the_password_rules_refuse_weak_passwords(db: Any, capsys: Any, password: str) -> None:
    assert main(["user", "add", "nurse-wang", "--role", "reporter", "--password", password]) == 1
    assert capsys.readouterr().err.startswith("--password: ")
    assert not User.objects.filter(username="nurse-wang").exists()


def test_the_password_rules_say_why_in_the_readers_words(db: Any, capsys: Any) -> None:
    main(["user", "add", "someone", "--role", "reporter", "--password", "12345678"])
    err = capsys.readouterr().err
    assert "too common" in err or "太常见" in err
    assert "numeric" in err or "全是数字" in err or "数字" in err


def test_the_demo_password_passes_the_rules_for_every_demo_login(demo: Any, capsys: Any) -> None:
    for user in User.objects.all():
        validate_password(DEMO_PASSWORD, user)
    assert main(["user", "add", "new-nurse", "--role", "reporter", "--password", DEMO_PASSWORD]) == 0
    assert log_in("new-nurse").status_code == 302


def test_a_login_is_tied_to_the_plan_s_person_and_takes_role_and_department_from_it(demo: Any, capsys: Any) -> None:
    """A second hospital's engineer got 403 on his own page: the login was not the plan's person."""
    assert main(["user", "add", "zhou.jie", "--person", "eng-duty", "--password", DEMO_PASSWORD]) == 0
    user = User.objects.get(username="zhou.jie")
    assert (user.person, user.role, user.department, user.first_name) == ("eng-duty", "engineer", "info", "周杰")
    assert main(["user", "add", "x", "--person", "nobody"]) == 1
    assert "--person: 'nobody' is not a person" in capsys.readouterr().err
    assert main(["user", "add", "y", "--role", "reporter", "--department", "no-such-dept"]) == 1
    assert "--department: 'no-such-dept' is not a department" in capsys.readouterr().err
    assert main(["user", "add", "z", "--person", "equipment-head"]) == 1  # the plan gives him no role
    assert "--role" in capsys.readouterr().err


def test_closing_while_the_plan_is_active_says_to_stand_down_first(demo: Any) -> None:
    from yingji.core.actors import CLI
    from yingji.incidents import actions

    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    actions.perform(CLI, incident, "activate")
    actions.perform(CLI, incident, "restore", checks=RESTORE_CHECKS)
    with pytest.raises(actions.InvalidTransition, match="请先终止预案"):
        actions.perform(CLI, incident, "close")
