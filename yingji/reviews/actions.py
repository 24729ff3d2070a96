"""Every change to a post-incident review, its corrective actions and a report's draft.

Like the other `actions.py`: check the role, then in one `audit.writing()` transaction change
the rows, append the audit entry and schedule or settle timers. A corrective action's due date
is a `corrective` timer: if the day ends with the action open, its owner and the office hear it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.accounts.models import User
from yingji.accounts.roles import require
from yingji.core import audit, clock
from yingji.core.actors import WORKER, Actor, actor_name
from yingji.core.errors import BadInput, InvalidTransition
from yingji.incidents import escalation
from yingji.incidents.escalation import say, tell_breach
from yingji.incidents.models import Incident
from yingji.notify import service as notify
from yingji.notify.models import Message
from yingji.plans.store import plan_of
from yingji.timers import service as timers

from . import regulatory, situation_report
from .models import CorrectiveAction, Evidence, RegulatoryReport, Review, SituationReport
from .regulatory import ITEMS

TEXT_FIELDS = tuple(field for field, _label in Review.SECTIONS)


def save_review(actor: Actor, incident: Incident, **fields: str) -> Review:
    """The written part of the review; the timeline and the impact are computed from the data."""
    require(actor, "review")
    unknown = set(fields) - set(TEXT_FIELDS)
    if unknown:
        raise BadInput(sorted(unknown)[0], _("Unknown field."))
    with audit.writing():
        review, _created = Review.objects.get_or_create(incident=incident)
        changed = sorted(f for f, v in fields.items() if getattr(review, f) != v.strip())
        for field in changed:
            setattr(review, field, fields[field].strip())
        review.updated_by, review.updated_at = actor_name(actor), clock.now()
        review.save()
        audit.append(actor_name(actor), "review.saved", "incident", incident.pk, {"fields": changed})
    return review


def _deadline(incident: Incident, due: date) -> datetime:
    """The end of the due day on the hospital's wall clock."""
    zone = plan_of(incident.plan_version_id).hospital.zone()
    return datetime.combine(due + timedelta(days=1), time(), tzinfo=zone)


def add_corrective_action(actor: Actor, incident: Incident, text: str, owner: str, due: date | str) -> CorrectiveAction:
    require(actor, "review")
    plan = plan_of(incident.plan_version_id)
    if not text.strip():
        raise BadInput("text", _("This field is required."))
    if plan.person(owner) is None:
        raise BadInput("owner", _("Unknown person %(code)r.") % {"code": owner})
    try:
        due_date = due if isinstance(due, date) else date.fromisoformat(due)
    except ValueError:
        raise BadInput("due_date", _("Not a date; write it as 2026-03-05.")) from None
    with audit.writing():
        review, _created = Review.objects.get_or_create(incident=incident)
        action = CorrectiveAction.objects.create(review=review, text=text.strip(), owner=owner, due_date=due_date,
                                                 created_by=actor_name(actor))
        timers.schedule("corrective", f"corrective:{action.pk}", _deadline(incident, due_date), incident.pk,
                        {"action": action.pk})
        audit.append(actor_name(actor), "corrective.added", "incident", incident.pk,
                     {"action": action.pk, "owner": owner, "due": due_date.isoformat()})
    return action


def finish_corrective_action(actor: Actor, action: CorrectiveAction) -> CorrectiveAction:
    """Done: by the office, a commander, or the owner (the user linked to that plan person)."""
    owner = isinstance(actor, User) and actor.person and actor.person == action.owner
    if not owner:
        require(actor, "review")
    with audit.writing():
        action = CorrectiveAction.objects.select_related("review").get(pk=action.pk)
        if action.done_at:
            raise InvalidTransition(_("This corrective action is already done."))
        action.done_at, action.done_by = clock.now(), actor_name(actor)
        action.save(update_fields=["done_at", "done_by"])
        timers.settle(f"corrective:{action.pk}", by=actor_name(actor))
        audit.append(actor_name(actor), "corrective.done", "incident", action.review.incident_id,
                     {"action": action.pk, "late": action.done_at > _deadline(action.review.incident, action.due_date)})
    return action


def save_report_draft(actor: Actor, report: RegulatoryReport, content: dict[str, Any]) -> RegulatoryReport:
    """Edit the items of a report before it is sent; a sent report stays as it was sent."""
    require(actor, "regulatory")
    allowed_items = {key for key, _label in ITEMS[RegulatoryReport.Kind(report.kind)]}
    with audit.writing():
        report = RegulatoryReport.objects.get(pk=report.pk)
        if report.sent_at:
            raise InvalidTransition(_("This report was already sent."), sent_at=report.sent_at.isoformat())
        edited = {**report.content, **{k: str(v).strip() for k, v in content.items() if k in allowed_items}}
        # An approval is for the text approved: changed afterwards, it must be approved again.
        withdrawn = bool(report.approved_at) and regulatory.changed(report.content, edited)
        report.content = edited
        if withdrawn:
            report.approved_at, report.approved_by = None, ""
        report.save(update_fields=["content", "approved_at", "approved_by"])
        audit.append(actor_name(actor), "regulatory.drafted", "incident", report.incident_id,
                     {"report": report.pk, "kind": report.kind, "approval_withdrawn": withdrawn})
    return report


def send_situation_report(actor: Actor, incident: Incident, contents: dict[str, Any]) -> SituationReport:
    """Send the report on the situation to the leading group (seed 000's five contents, each
    required), number it (1, then each 续报), and put it on the chain with who got it."""
    require(actor, "situation_report")
    texts = {}
    for key, label in SituationReport.CONTENTS:
        text = str(contents.get(key) or "").strip()
        if not text:
            raise BadInput(key, _("%(what)s is required.") % {"what": label})
        if len(text) > situation_report.LIMIT:
            raise BadInput(key, _("At most %(n)s characters.") % {"n": situation_report.LIMIT})
        texts[key] = text
    plan = plan_of(incident.plan_version_id)
    with translation.override(plan.hospital.language):
        prompt = _("Proposed: ").strip()
    if texts["measures"].endswith(prompt):  # the draft's prompt left as it was: nothing proposed
        raise BadInput("measures", _("Say which measures you propose after “%(prompt)s”.") % {"prompt": prompt})
    with audit.writing():
        if Incident.objects.get(pk=incident.pk).status in Incident.ENDED:
            raise InvalidTransition(_("The incident has ended; its situation reports are its record now."),
                                    status=incident.status, allowed=[])
        number = SituationReport.objects.filter(incident=incident).count() + 1
        people = escalation.reach(incident, plan, plan.situation_report_targets())
        report = SituationReport.objects.create(incident=incident, number=number, recipients=people,
                                                sent_at=clock.now(), sent_by=actor_name(actor), **texts)
        notify.enqueue(incident, Message.Kind.UPDATE, people, "situation_report", escalation.context(
            incident, plan, report=situation_report.as_text(texts, plan), count=number))
        audit.append(actor_name(actor), "situation.reported", "incident", incident.pk,
                     {"report": report.pk, "number": number, "people": people, **texts})
    return report


def preserve_evidence(actor: Actor, incident: Incident, kind: str, what: str, location: str = "",
                      sha256: str = "") -> Evidence:
    """Log what was kept, where, and its hash, the moment it is kept."""
    require(actor, "evidence")
    if kind not in Evidence.Kind.values:
        raise BadInput("kind", _("Must be one of: %(choices)s.") % {"choices": ", ".join(Evidence.Kind.values)})
    if not what.strip():
        raise BadInput("what", _("This field is required."))
    digest = sha256.strip().lower()
    if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise BadInput("sha256", _("A SHA-256 is 64 hexadecimal characters (sha256sum prints it)."))
    with audit.writing():
        item = Evidence.objects.create(incident=incident, kind=kind, what=what.strip()[:300],
                                       location=location.strip()[:300], sha256=digest, collected_at=clock.now(),
                                       collected_by=actor_name(actor))
        audit.append(actor_name(actor), "evidence.preserved", "incident", incident.pk,
                     {"evidence": item.pk, "kind": kind, "what": item.what, "location": item.location,
                      "sha256": digest})
    return item


@timers.handler("corrective")
def _corrective_overdue(timer: timers.Timer) -> None:
    action = CorrectiveAction.objects.select_related("review__incident").get(pk=timer.payload["action"])
    if action.done_at:
        return
    incident = action.review.incident
    plan = plan_of(incident.plan_version_id)
    owner = plan.person(action.owner)
    what = say(plan, gettext_lazy("Corrective action overdue since %(due)s: %(text)s (owner: %(owner)s)."),
               due=action.due_date.isoformat(), text=action.text, owner=owner.name if owner else action.owner)
    people = (action.owner, plan.organization.office.leader)
    tell_breach(incident, plan, [f"person:{code}" for code in people if code], what)
    audit.append(WORKER.name, "timer.breached", "incident", incident.pk, {"deadline": "corrective",
                                                                         "action": action.pk})
