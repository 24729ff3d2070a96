"""A signed-in person's own pages: what they were paged for, when, on which channels, whether it is
acknowledged, with one button to acknowledge. The header's badge counts the open ones."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingji.incidents import actions
from yingji.plans.store import plan_of
from yingji.web.views import back_to, run_action

from . import channels
from .models import Delivery, Message


def waiting_count(user: Any) -> int:
    """The person's pages on open incidents that still wait for their acknowledgement."""
    person = getattr(user, "person", "")
    return Message.waiting_for(person).count() if person else 0


@login_required
def my_pages(request: HttpRequest) -> HttpResponse:
    person = getattr(request.user, "person", "")
    states = dict(Delivery.State.choices)
    rows = []
    waiting = set(Message.waiting_for(person).values_list("id", flat=True)) if person else set()
    if person:
        messages = (Message.objects.filter(person=person, incident__isnull=False).select_related("incident")
                    .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.only(
                        "message_id", "channel", "state"))).order_by("-id")[:100])
        for message in messages:
            incident = message.incident
            assert incident is not None
            plan = plan_of(incident.plan_version_id)
            system = plan.system(incident.system)
            rows.append({
                "pk": message.pk, "incident": incident, "system": system.name if system else incident.system,
                "kind": message.get_kind_display(), "escalation": message.kind == Message.Kind.ESCALATION,
                "subject": message.subject, "at": timezone.localtime(message.created_at),
                "channels": [f"{channels.label(plan, d.channel)}: {states.get(d.state, d.state)}"
                             for d in message.deliveries.all()],  # type: ignore[attr-defined]
                "acked_at": message.acked_at,
                "open": message.pk in waiting})
    return render(request, "notify/pages.html", {"rows": rows, "has_person": bool(person)})


@login_required
@require_POST
def page_ack(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("incident"), pk=message_id)
    run_action(request, actions.acknowledge_message, message, "web")
    return back_to(request, "my_pages")
