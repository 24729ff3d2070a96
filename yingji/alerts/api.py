"""The API of silences (maintenance windows): create, list, end. Added to the main API when the
app is ready (`hooks.py`), before the catch-all."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictBool

from yingji.accounts.roles import require
from yingji.core import clock
from yingji.core.apischema import Id, Input, Text, When, found, responses

from . import actions
from .models import Silence

router = Router(tags=["alerts"])


class SilenceIn(Input):
    system: Text = Field("", max_length=40, description="plan system code; empty: any system")
    labels: dict[Text, Text] = Field({}, max_length=10, description="label → regular expression; all must match")
    starts_at: When
    ends_at: When = Field(description="at most 30 days after starts_at, and in the future")
    reason: Text = Field(max_length=500)
    announce: StrictBool = Field(False, description="a planned downtime, shown on the board ahead of time")


class SilenceOut(Schema):
    id: int
    system: str
    labels: dict[str, str]
    starts_at: str
    ends_at: str
    reason: str
    announce: bool
    created_by: str
    ended_at: str | None
    held: int = Field(description="alerts it holds back now")


def _out(silence: Silence) -> dict[str, Any]:
    return {"id": silence.pk, "system": silence.system, "labels": silence.labels,
            "starts_at": silence.starts_at.isoformat(), "ends_at": silence.ends_at.isoformat(),
            "reason": silence.reason, "announce": silence.announce, "created_by": silence.created_by,
            "ended_at": silence.ended_at.isoformat() if silence.ended_at else None,
            "held": silence.alerts.count()}  # type: ignore[attr-defined]


@router.post("/silences", response=responses(201, SilenceOut, errors=(400, 403, 413)),
             summary="Silence alerts for a time (a maintenance window)")
def post_silence(request: HttpRequest, payload: SilenceIn) -> Status[dict[str, Any]]:
    silence = actions.create_silence(request.user, system=payload.system, labels=payload.labels,  # type: ignore[arg-type]
                                     starts_at=payload.starts_at, ends_at=payload.ends_at, reason=payload.reason,
                                     announce=payload.announce)
    return Status(201, _out(silence))


@router.get("/silences", response=responses(200, list[SilenceOut], errors=(403,)), summary="Silences not yet over")
def get_silences(request: HttpRequest) -> list[dict[str, Any]]:
    require(request.user, "silence")  # type: ignore[arg-type]
    return [_out(s) for s in Silence.objects.filter(ended_at__isnull=True, ends_at__gt=clock.now())[:200]]


@router.post("/silences/{silence_id}/end", response=responses(200, SilenceOut, errors=(403, 404, 409)),
             summary="End a silence now")
def post_silence_end(request: HttpRequest, silence_id: Id) -> dict[str, Any]:
    silence = found(Silence, "silence_id", pk=silence_id)
    return _out(actions.end_silence(request.user, silence))  # type: ignore[arg-type]


