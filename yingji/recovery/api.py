"""/api/v1/ for manual records, imports, back-entry steps, reconciliation and temporary numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from yingji.core.numbers import INT_MAX
from yingji.incidents.models import Incident
from yingji.plans.store import plan_of

from . import actions
from .models import ManualRecord
from .reconciliation import reconciliation

router = Router(tags=["back-entry"])


class RecordIn(Schema):
    # Strings on purpose: the same checker as imports names the field that is wrong.
    kind: str = ""
    department: str = ""
    card_no: str = ""
    temp_no: str = ""
    patient_name: str = ""
    paper_serial: str = ""
    occurred_at: str = Field("", description="ISO 8601; without an offset, the hospital's local time")
    amount: str | float | None = Field(None, description="decimal string, e.g. \"25.50\"")
    clinician: str = ""
    insurance: str = Field("", description="insurance scheme code from the plan")


def record_out(record: ManualRecord, patients: bool = True) -> dict[str, Any]:
    if not patients:
        for field in actions.PATIENT_FIELDS:
            setattr(record, field, actions.HIDDEN)
    return {"id": record.pk, "incident": record.incident_id, "kind": record.kind, "department": record.department,
            "card_no": record.card_no, "temp_no": record.temp_no, "patient_name": record.patient_name,
            "paper_serial": record.paper_serial, "occurred_at": record.occurred_at.isoformat(),
            "amount": None if record.amount is None else f"{record.amount:.2f}", "clinician": record.clinician,
            "insurance": record.insurance, "state": record.state, "insurance_state": record.insurance_state,
            "his_id": record.his_id, "note": record.note, "source": record.source,
            "allowed": actions.allowed_steps(record)}


@router.post("/incidents/{incident_id}/records", response={201: dict}, summary="Register one manual record")
def add_record(request: HttpRequest, incident_id: int, payload: RecordIn) -> Status[dict[str, Any]]:
    incident = get_object_or_404(Incident, pk=incident_id)
    record = actions.add_record(request.user, incident, payload.dict(), source="api")  # type: ignore[arg-type]
    return Status(201, record_out(record))


@router.post("/incidents/{incident_id}/records/import", summary="Import a CSV or XLSX of manual records")
def import_records(request: HttpRequest, incident_id: int, file: File[UploadedFile]) -> dict[str, Any]:
    incident = get_object_or_404(Incident, pk=incident_id)
    result = actions.import_records(request.user, incident, file.name or "", file.read())  # type: ignore[arg-type]
    return {"accepted": result.accepted, "rejected": result.rejected}


@router.get("/incidents/{incident_id}/records", summary="Manual records of an incident")
def list_records(request: HttpRequest, incident_id: int, department: str = "", state: str = "",
                 limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    incident = get_object_or_404(Incident, pk=incident_id)
    rows = ManualRecord.objects.filter(incident=incident)
    department = actions.listed_department(request.user, plan_of(incident.plan_version_id), department)  # type: ignore[arg-type]
    if department:
        rows = rows.filter(department=department)
    if state:
        rows = rows.filter(state=state)
    patients = actions.sees_patients(request.user)  # type: ignore[arg-type]
    return [record_out(r, patients) for r in rows[offset:offset + max(1, min(limit, 5000))]]


class StepIn(Schema):
    his_id: str = ""
    note: str = ""


@router.post("/records/{record_id}/{step}", summary="enter | verify | confirm | settle")
def step_record(request: HttpRequest, record_id: int, step: str, payload: StepIn | None = None) -> dict[str, Any]:
    record = get_object_or_404(ManualRecord.objects.select_related("incident"), pk=record_id)
    body = payload or StepIn()
    return record_out(actions.advance(request.user, record, step, body.his_id, body.note))  # type: ignore[arg-type]


@router.get("/incidents/{incident_id}/reconciliation", summary="Back-entry balance per department")
def get_reconciliation(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    incident = get_object_or_404(Incident, pk=incident_id)
    return {"incident": incident.number, "departments": reconciliation(incident)}


class ExpectedIn(Schema):
    expected_count: int | None = Field(None, ge=0, le=INT_MAX)
    expected_amount: Decimal | None = Field(None, ge=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2,
                                            allow_inf_nan=False)
    note: str = ""


@router.post("/incidents/{incident_id}/reconciliation/{department}", summary="The paper log's totals")
def set_expected(request: HttpRequest, incident_id: int, department: str, payload: ExpectedIn) -> dict[str, Any]:
    incident = get_object_or_404(Incident, pk=incident_id)
    actions.set_expected(request.user, incident, department, payload.expected_count,  # type: ignore[arg-type]
                         payload.expected_amount, payload.note)
    return {"incident": incident.number, "departments": reconciliation(incident)}


class SignIn(Schema):
    as_: Literal["lead", "finance"] = Field(alias="as")
    note: str = ""


@router.post("/incidents/{incident_id}/reconciliation/{department}/sign", summary="Sign off as lead or finance")
def sign(request: HttpRequest, incident_id: int, department: str, payload: SignIn) -> dict[str, Any]:
    incident = get_object_or_404(Incident, pk=incident_id)
    actions.sign_off(request.user, incident, department, payload.as_, payload.note)  # type: ignore[arg-type]
    return {"incident": incident.number, "departments": reconciliation(incident)}


class RangeIn(Schema):
    department: str
    prefix: str
    first: int = Field(ge=1)
    last: int = Field(ge=1)
    width: int = Field(6, ge=1, le=12)


@router.post("/temp-ranges", response={201: dict}, summary="Reserve temporary patient numbers for a department")
def reserve(request: HttpRequest, payload: RangeIn) -> Status[dict[str, Any]]:
    block = actions.reserve_range(request.user, payload.department, payload.prefix,  # type: ignore[arg-type]
                                  payload.first, payload.last, payload.width)
    return Status(201, {"id": block.pk, "department": block.department, "first": block.number(block.first),
                        "last": block.number(block.last)})


@router.post("/departments/{department}/temp-number", summary="Hand out the next temporary number")
def next_temp_no(request: HttpRequest, department: str) -> dict[str, str]:
    return {"temp_no": actions.issue_temp_no(request.user, department)}  # type: ignore[arg-type]
