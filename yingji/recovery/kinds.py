"""The plan's kinds of paper record, and what a record's kind and state are called.

A plan lists its kinds (`recovery.record_kinds`: registration, prescription, a blood issue...) in
its own words. A plan that lists none gets Yingji's eight (`schema.DEFAULT_RECORD_KINDS`); those
keep Yingji's English names, which are said in the reader's language, as they were when the kinds
were fixed choices. Where a record goes back to is the plan's too: its kind's system, else
`recovery.target_system`, else the first core system.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.plans.schema import DEFAULT_RECORD_KINDS, Plan, RecordKind

from .models import ManualRecord

# Yingji's own kinds in the reader's language, used while the plan keeps their English names.
OWN_NAMES: dict[str, Promise] = {
    "registration": gettext_lazy("Registration"), "prescription": gettext_lazy("Prescription"),
    "exam_request": gettext_lazy("Exam request"), "lab_request": gettext_lazy("Lab request"),
    "charge": gettext_lazy("Charge"), "medication": gettext_lazy("Medication administration"),
    "admission": gettext_lazy("Admission"), "discharge": gettext_lazy("Discharge"),
}
_ENGLISH = {k["code"]: k["name"] for k in DEFAULT_RECORD_KINDS}


def _name(kind: RecordKind) -> str:
    own = OWN_NAMES.get(kind.code)
    return str(own) if own is not None and kind.name == _ENGLISH.get(kind.code) else kind.name


def kind_name(plan: Plan | None, code: str) -> str:
    """What the plan calls a kind of record; the code itself when the plan has no such kind."""
    found = plan.record_kind(code) if plan is not None else None
    return _name(found) if found is not None else code


def choices(plan: Plan) -> list[tuple[str, str]]:
    """(code, name) of the plan's kinds, in the plan's order: the entry form's digit keys."""
    return [(kind.code, _name(kind)) for kind in plan.recovery.record_kinds]


def system_name(plan: Plan, kind: str = "") -> str:
    """The short name (code) of the system records of `kind` are entered back into ("HIS"):
    what the clerks call it, as the plan's own prose does."""
    return plan.backentry_system(kind).code


def state_name(plan: Plan, state: str, kind: str = "") -> str:
    """A record's state in words, naming the system it was entered into ("Entered in HIS")."""
    if state == ManualRecord.State.ENTERED:
        return _("Entered in %(system)s") % {"system": system_name(plan, kind)}
    return str(ManualRecord.State(state).label) if state in ManualRecord.State.values else state


def state_choices(plan: Plan) -> list[tuple[str, str]]:
    return [(state, state_name(plan, state)) for state in ManualRecord.State.values]
