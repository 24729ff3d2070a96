"""What every /api/v1/ route promises: its error bodies, its response map, and the edge types.

A client generator and the fuzzer (tests/test_schema_fuzz.py) read the OpenAPI document, so each
route declares every status it can answer with, built by `responses()` rather than a dict copied
onto thirty routes. The edge types bound what the databases can hold: SQLite and PostgreSQL
disagree on integer ranges and on NUL bytes, and a value one of them cannot store must be a 422
naming the field, never a 500 from deep inside a query.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from .errors import NotFound

M = TypeVar("M", bound=Model)

# The narrowest column each value lands in, on either database.
ID_MAX = 2**63 - 1  # BigAutoField: SQLite INTEGER and PostgreSQL bigint
COUNT_MAX = 2**31 - 1  # PositiveIntegerField: PostgreSQL integer
# Dates outside these years are typing mistakes, and years near 1 or 9999 overflow once shifted to UTC.
YEAR_MIN, YEAR_MAX = 2000, 2199


class Input(BaseModel):
    """A request body. Not ninja's Schema, which reads attributes off anything and so would take
    a JSON list or number as a body with every field at its default."""


class ErrorOut(Schema):
    """Every refusal: what is wrong, and which field when one field is to blame."""

    detail: str
    field: str = Field("", description="the field at fault, as the request named it; empty when none is")


class ConflictOut(ErrorOut):
    """409: the object's state does not allow the step; `allowed` says which steps it does."""

    status: str | None = Field(None, description="the object's current state")
    allowed: list[str] | None = None


class FieldError(Schema):
    field: str
    message: str


class ValidationErrorOut(ErrorOut):
    """422: the request does not fit the schema; `errors` lists every field, `field` the first."""

    errors: list[FieldError]


ERROR_BODIES: dict[int, type[ErrorOut]] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                           409: ConflictOut, 413: ErrorOut, 422: ValidationErrorOut, 503: ErrorOut}


def responses(status: int, body: Any, errors: tuple[int, ...] = (), public: bool = False) -> dict[int, Any]:
    """The response map of one route: its success body, then the errors it can answer with.

    Every route can answer 422 (a parameter does not validate); every route behind a token can
    answer 401. `errors` adds the rest: 400 BadInput, 403 Forbidden, 404 a missing object, 409 a
    state that does not allow it, 413 a body over YINGJI_BODY_MAX_BYTES, 503 nothing was stored
    because the database failed (send it again).
    """
    codes = {422, *errors} | (set() if public else {401})
    return {status: body, **{code: ERROR_BODIES[code] for code in sorted(codes)}}


def nul_free(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text; SQLite would, and then the row would not move to PostgreSQL.
    if "\x00" in value:
        raise ValueError(_("Must not contain NUL characters (U+0000)."))
    return value


def year_problem(value: date) -> str | None:
    """Why a date is refused (its year is outside YEAR_MIN..YEAR_MAX), or None: for the API's types,
    the back-entry checker and the roster forms alike."""
    if YEAR_MIN <= value.year <= YEAR_MAX:
        return None
    return _("The year must be between %(first)d and %(last)d.") % {"first": YEAR_MIN, "last": YEAR_MAX}


def _plausible_year(value: date) -> None:
    if problem := year_problem(value):
        raise ValueError(problem)


def _aware(value: datetime) -> datetime:
    """Without an offset, a time is the hospital's wall clock (the plan's time zone, which
    plans.middleware makes current), as staff read it off the wall."""
    _plausible_year(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _day(value: date) -> date:
    _plausible_year(value)
    return value


def _written(value: Any) -> Any:
    # pydantic would read a number as seconds since 1970; the schema promises an ISO 8601 string.
    if isinstance(value, int | float):
        raise ValueError(_("Give a date or time as ISO 8601 text."))
    return value


# The schema's pattern lets a client generator (and the fuzzer) know about NUL before sending it.
Text = Annotated[str, AfterValidator(nul_free), Field(json_schema_extra={"pattern": "^[^\x00]*$"})]
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
def not_bool(value: Any) -> Any:
    # JSON true is not the number 1, though Python (and so pydantic) thinks it is.
    if isinstance(value, bool):
        raise ValueError(_("Must be a whole number, 0 or more."))
    return value


Count = Annotated[int, Field(ge=0, le=COUNT_MAX), BeforeValidator(not_bool)]
Positive = Annotated[int, Field(ge=1, le=COUNT_MAX), BeforeValidator(not_bool)]
Offset = Annotated[int, Field(ge=0, le=COUNT_MAX, description="rows to skip")]
# A money column (max_digits=14, decimal_places=2), as a number or a decimal string; the schema is
# written out because pydantic's leaves the string form unbounded.
Money = Annotated[Decimal, Field(ge=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1e12, "multipleOf": 0.01},
              {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"}]})]
When = Annotated[datetime, BeforeValidator(_written), AfterValidator(_aware)]
Day = Annotated[date, BeforeValidator(_written), AfterValidator(_day)]


def found(rows: type[M] | QuerySet[M], field: str, **lookup: Any) -> M:
    """The object a path parameter names, or a 404 that names the parameter."""
    try:
        return get_object_or_404(rows, **lookup)
    except Http404:
        raise NotFound(field, _("Nothing found for %(field)s.") % {"field": field}) from None
