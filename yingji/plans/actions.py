"""Plan versions move draft → approved → published; the previous published one is superseded."""

from __future__ import annotations

import hashlib
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from yingji.accounts.roles import require
from yingji.core import audit, clock
from yingji.core.actors import Actor, actor_name
from yingji.core.errors import InvalidTransition

from .loader import parse_plan
from .models import PlanVersion
from .store import forget_published


def import_plan(actor: Actor, text: str, note: str = "") -> PlanVersion:
    """Validate and store a new draft. Raises loader.PlanInvalid with every error found."""
    require(actor, "plan_import")
    plan = parse_plan(text)
    with audit.writing():
        number = (PlanVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        version = PlanVersion.objects.create(
            number=number, label=plan.document.version, title=plan.document.title,
            hospital=plan.hospital.name, language=plan.hospital.language, source=text,
            data=plan.model_dump(mode="json", by_alias=True), sha256=hashlib.sha256(text.encode()).hexdigest(),
            imported_by=actor_name(actor), imported_at=clock.now(), note=note,
        )
        audit.append(actor_name(actor), "plan.imported", "plan", version.pk,
                     {"number": number, "label": version.label, "sha256": version.sha256})
    return version


def approve(actor: Actor, version: PlanVersion, effective_date: date | None = None) -> PlanVersion:
    require(actor, "plan_approve")
    with audit.writing():
        version.refresh_from_db()
        if version.status != PlanVersion.Status.DRAFT:
            raise InvalidTransition(_("Only a draft can be approved."), status=version.status,
                                    allowed=_plan_next(version))
        version.status = PlanVersion.Status.APPROVED
        version.approved_by = actor_name(actor)
        version.approved_at = clock.now()
        version.effective_date = effective_date or clock.now().date()
        version.save()
        audit.append(actor_name(actor), "plan.approved", "plan", version.pk,
                     {"number": version.number, "effective_date": version.effective_date})
    return version


def publish(actor: Actor, version: PlanVersion) -> PlanVersion:
    """Make this version the one new incidents start under; running incidents keep theirs."""
    require(actor, "plan_publish")
    from yingji.incidents.actions import sync_systems  # the board lists the published systems

    with audit.writing():
        version.refresh_from_db()
        if version.status != PlanVersion.Status.APPROVED:
            raise InvalidTransition(_("Only an approved plan can be published."), status=version.status,
                                    allowed=_plan_next(version))
        previous = list(PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED))
        PlanVersion.objects.filter(pk__in=[p.pk for p in previous]).update(
            status=PlanVersion.Status.SUPERSEDED)
        version.status = PlanVersion.Status.PUBLISHED
        version.published_at = clock.now()
        version.save()
        audit.append(actor_name(actor), "plan.published", "plan", version.pk,
                     {"number": version.number, "superseded": [p.number for p in previous]})
        sync_systems(version)
        transaction.on_commit(forget_published)
    return version


def import_and_publish(actor: Actor, text: str, note: str = "") -> PlanVersion:
    version = import_plan(actor, text, note)
    approve(actor, version)
    return publish(actor, version)


def _plan_next(version: PlanVersion) -> list[str]:
    return {"draft": ["approve"], "approved": ["publish"]}.get(version.status, [])
