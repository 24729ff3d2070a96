"""/api/v1/ for manual records, imports, back-entry steps, reconciliation and temporary numbers."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import BeforeValidator, Field

from yingji.core.apischema import Count, Id, Input, Money, Offset, Positive, Text, found, not_bool, responses
from yingji.incidents.models import Incident
from yingji.plans.store import plan_of

from . import actions
from .models import ManualRecord
from .reconciliation import reconciliation

router = Router(tags=["back-entry"])

DepartmentCode = Annotated[Text, Field(max_length=40, description="department code from the plan")]
# What an incident's back-entry routes can refuse with: 400 a bad field, 403 not your department,
# 404 no such incident or record, 409 a closed incident or a step the record's state does not allow.
WRITE = (400, 403, 404, 409, 413)


class RecordIn(Input):
    # Strings on purpose: the same checker as imports names the field that is wrong.
    kind: Text = Field("", description="record kind code from the plan (recovery.record_kinds), or its name")
    department: Text = ""
    card_no: Text = ""
    temp_no: Text = ""
    patient_name: Text = ""
    paper_serial: Text = ""
    occurred_at: Text = Field("", description="ISO 8601; without an offset, the hospital's local time")
    amount: Text | float | None = Field(None, description="decimal string, e.g. \"25.50\"")
    clinician: Text = ""
    insurance: Text = Field("", description="insurance scheme code from the plan")


class RecordOut(Schema):
    id: int
    incident: int
    kind: str
    department: str
    card_no: str
    temp_no: str
    patient_name: str
    paper_serial: str
    occurred_at: str
    amount: str | None
    clinician: str
    insurance: str
    state: str
    insurance_state: str
    his_id: str
    note: str
    source: str
    allowed: list[str] = Field(description="steps the record's state allows now")


def record_out(record: ManualRecord, patients: bool = True) -> dict[str, Any]:
    record = actions.shown_to(record, patients)
    return {"id": record.pk, "incident": record.incident_id, "kind": record.kind, "department": record.department,
            "card_no": record.card_no, "temp_no": record.temp_no, "patient_name": record.patient_name,
            "paper_serial": record.paper_serial, "occurred_at": record.occurred_at.isoformat(),
            "amount": None if record.amount is None else f"{record.amount:.2f}", "clinician": record.clinician,
            "insurance": record.insurance, "state": record.state, "insurance_state": record.insurance_state,
            "his_id": record.his_id, "note": record.note, "source": record.source,
            "allowed": actions.allowed_steps(record)}


@router.post("/incidents/{incident_id}/records", response=responses(201, RecordOut, errors=WRITE),
             summary="Register one manual record")
def add_record(request: HttpRequest, incident_id: Id, payload: RecordIn) -> Status[dict[str, Any]]:
    incident = found(Incident, "incident_id", pk=incident_id)
    record = actions.add_record(request.user, incident, payload.model_dump(), source="api")  # type: ignore[arg-type]
    return Status(201, record_out(record))


class RejectedRowOut(Schema):
    row: int = Field(description="the spreadsheet's row number, header = 1")
    field: str
    message: str


class ImportOut(Schema):
    accepted: int
    rejected: list[RejectedRowOut]


@router.post("/incidents/{incident_id}/records/import", response=responses(200, ImportOut, errors=WRITE),
             summary="Import a CSV or XLSX of manual records (up to YINGJI_IMPORT_MAX_BYTES)")
def import_records(request: HttpRequest, incident_id: Id, file: File[UploadedFile]) -> dict[str, Any]:
    incident = found(Incident, "incident_id", pk=incident_id)
    result = actions.import_records(request.user, incident, file.name or "", file.read())  # type: ignore[arg-type]
    return {"accepted": result.accepted, "rejected": result.rejected}


RecordState = Literal["", "pending", "entered", "verified", "confirmed"]


@router.get("/incidents/{incident_id}/records", response=responses(200, list[RecordOut]),
            summary="Manual records of an incident")
def list_records(request: HttpRequest, incident_id: Id, department: Text = "", state: RecordState = "",
                 limit: Annotated[int, Field(ge=1, le=5000)] = 500, offset: Offset = 0) -> list[dict[str, Any]]:
    incident = found(Incident, "incident_id", pk=incident_id)
    rows = ManualRecord.objects.filter(incident=incident)
    department = actions.listed_department(request.user, plan_of(incident.plan_version_id), department)  # type: ignore[arg-type]
    if department:
        rows = rows.filter(department=department)
    if state:
        rows = rows.filter(state=state)
    patients = actions.sees_patients(request.user)  # type: ignore[arg-type]
    return [record_out(r, patients) for r in rows[offset:offset + limit]]


class StepIn(Input):
    his_id: Text = Field(default="", max_length=60, description="enter: the order or charge id the record got in "
                        "the system it is entered into (the plan's recovery.target_system, HIS in the shipped plans)")
    note: Text = Field(default="", max_length=2000)


Step = Literal["enter", "verify", "confirm", "settle"]
assert set(get_args(Step)) == set(actions.STEPS), "the API's steps are the actions' steps"


@router.post("/records/{record_id}/{step}", response=responses(200, RecordOut, errors=WRITE),
             summary="enter | verify | confirm | settle")
def step_record(request: HttpRequest, record_id: Id, step: Step, payload: StepIn | None = None) -> dict[str, Any]:
    record = found(ManualRecord.objects.select_related("incident"), "record_id", pk=record_id)
    body = payload or StepIn()
    return record_out(actions.advance(request.user, record, step, body.his_id, body.note))  # type: ignore[arg-type]


class BalanceOut(Schema):
    department: str
    total: int
    pending: int
    entered: int
    verified: int
    confirmed: int
    unsettled: int
    open: int
    amount_total: str
    amount_confirmed: str
    expected_count: int | None
    expected_amount: str | None
    balanced: bool
    problems: list[str]
    note: str
    lead_signed_by: str | None
    lead_signed_at: str | None
    finance_signed_by: str | None
    finance_signed_at: str | None
    signed_off: bool


class ReconciliationOut(Schema):
    incident: str
    departments: list[BalanceOut]


@router.get("/incidents/{incident_id}/reconciliation", response=responses(200, ReconciliationOut, errors=(404,)),
            summary="Back-entry balance per department")
def get_reconciliation(request: HttpRequest, incident_id: Id) -> dict[str, Any]:
    incident = found(Incident, "incident_id", pk=incident_id)
    return {"incident": incident.number, "departments": reconciliation(incident)}


class ExpectedIn(Input):
    expected_count: Count | None = None
    expected_amount: Money | None = None
    note: Text = Field(default="", max_length=2000)


@router.post("/incidents/{incident_id}/reconciliation/{department}", response=responses(
             200, ReconciliationOut, errors=WRITE), summary="The paper log's totals")
def set_expected(request: HttpRequest, incident_id: Id, department: DepartmentCode,
                 payload: ExpectedIn) -> dict[str, Any]:
    incident = found(Incident, "incident_id", pk=incident_id)
    actions.set_expected(request.user, incident, department, payload.expected_count,  # type: ignore[arg-type]
                         payload.expected_amount, payload.note)
    return {"incident": incident.number, "departments": reconciliation(incident)}


class SignIn(Input):
    as_: Literal["lead", "finance"] = Field(alias="as")
    note: Text = Field(default="", max_length=2000)


@router.post("/incidents/{incident_id}/reconciliation/{department}/sign", response=responses(
             200, ReconciliationOut, errors=WRITE), summary="Sign off as lead or finance")
def sign(request: HttpRequest, incident_id: Id, department: DepartmentCode, payload: SignIn) -> dict[str, Any]:
    incident = found(Incident, "incident_id", pk=incident_id)
    actions.sign_off(request.user, incident, department, payload.as_, payload.note)  # type: ignore[arg-type]
    return {"incident": incident.number, "departments": reconciliation(incident)}


class RangeIn(Input):
    department: DepartmentCode
    prefix: Text = Field(max_length=20)
    first: Positive
    last: Positive
    width: Annotated[int, Field(ge=1, le=12), BeforeValidator(not_bool)] = 6


class RangeOut(Schema):
    id: int
    department: str
    first: str
    last: str


class TempNumberOut(Schema):
    temp_no: str


@router.post("/temp-ranges", response=responses(201, RangeOut, errors=(400, 403, 413)),
             summary="Reserve temporary patient numbers for a department")
def reserve(request: HttpRequest, payload: RangeIn) -> Status[dict[str, Any]]:
    block = actions.reserve_range(request.user, payload.department, payload.prefix,  # type: ignore[arg-type]
                                  payload.first, payload.last, payload.width)
    return Status(201, {"id": block.pk, "department": block.department, "first": block.number(block.first),
                        "last": block.number(block.last)})


@router.post("/departments/{department}/temp-number", response=responses(200, TempNumberOut,
             errors=(400, 403, 409, 413)), summary="Hand out the next temporary number")
def next_temp_no(request: HttpRequest, department: DepartmentCode) -> dict[str, str]:
    return {"temp_no": actions.issue_temp_no(request.user, department)}  # type: ignore[arg-type]
