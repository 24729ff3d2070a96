"""The demo hospital: the shipped plan published, and a login for every role."""

from __future__ import annotations

from django.db import transaction

from yingji.accounts.models import User
from yingji.core.actors import CLI
from yingji.plans import actions as plan_actions
from yingji.plans.loader import template_text
from yingji.plans.models import PlanVersion
from yingji.plans.schema import Plan

DEMO_PASSWORD = "yingji-demo"
# Logins beyond the plan's people: an administrator and a read-only auditor.
EXTRA_USERS = [("admin", "admin", "", "系统管理员"), ("auditor", "viewer", "", "审计员"),
               ("cashier-li", "reporter", "cashier", "收费员李")]
# Temporary patient numbers reserved ahead for the desks that register patients on paper.
DEMO_TEMP_RANGES = [("cashier", "MZLS", 1, 5000), ("emergency", "JZLS", 1, 2000),
                    ("inpatient-billing", "ZYLS", 1, 2000)]


def load_demo(language: str = "zh") -> list[tuple[str, str, str]]:
    """Publish the shipped plan (if none is published) and create the demo logins."""
    with transaction.atomic():
        if not PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED).exists():
            plan_actions.import_and_publish(CLI, template_text(language), note="demo")
    version = PlanVersion.objects.get(status=PlanVersion.Status.PUBLISHED)
    plan = Plan.model_validate(version.data)
    logins: list[tuple[str, str, str]] = []
    for person in plan.people:
        if person.role:
            ensure_user(person.code, person.role, person.department or "", person.name, person.mobile or "",
                        person.code)
            logins.append((person.code, person.role, person.name))
    for username, role, department, name in EXTRA_USERS:
        ensure_user(username, role, department, name)
        logins.append((username, role, name))
    from yingji.recovery.actions import reserve_range
    from yingji.recovery.models import TempRange

    for department, prefix, first, last in DEMO_TEMP_RANGES:
        if not TempRange.objects.filter(prefix=prefix).exists():
            reserve_range(CLI, department, prefix, first, last)
    return logins


def ensure_user(username: str, role: str, department: str, name: str, phone: str = "",
                person: str = "") -> User:
    user, created = User.objects.get_or_create(username=username, defaults={
        "role": role, "department": department, "first_name": name, "phone": phone, "person": person,
        "is_staff": role == "admin", "is_superuser": role == "admin"})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user
