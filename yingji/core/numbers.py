"""Numbers from outside (forms, JSON, file cells, plans), checked against the column they go into.

`Decimal("1e400")` is a valid Decimal, and so are NaN and Infinity; stored, SQLite keeps them as
a REAL infinity and every later read of the row fails. So each amount is checked here, once, for
being finite, not negative, and within the digits its column holds, and the field is named.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from .errors import BadInput

# PostgreSQL's integer column; SQLite's is wider, but a value must fit both.
INT_MAX = 2**31 - 1


def money(value: Any, field: str, *, max_digits: int, decimal_places: int = 2) -> Decimal | None:
    """A non-negative amount that fits a DecimalField(max_digits, decimal_places); None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadInput(field, _("Not an amount; write it like 25.50."))
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise BadInput(field, _("Not an amount; write it like 25.50.")) from exc
    limit = Decimal(10) ** (max_digits - decimal_places)
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount < 0 or amount >= limit \
            or (isinstance(exponent, int) and exponent < -decimal_places):
        raise BadInput(field, _("Give a positive amount below %(limit)s with at most %(places)d decimals.")
                       % {"limit": f"{limit:,.0f}", "places": decimal_places})
    return amount.quantize(Decimal(1).scaleb(-decimal_places))


def whole(value: Any, field: str, *, low: int = 0, high: int = INT_MAX) -> int | None:
    """A whole number within [low, high]; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadInput(field, _("Give a whole number."))
    try:
        number = int(value) if isinstance(value, int) else int(str(value).strip())
    except ValueError as exc:
        raise BadInput(field, _("Give a whole number.")) from exc
    if not low <= number <= high:
        raise BadInput(field, _("Give a whole number from %(low)s to %(high)s.")
                       % {"low": f"{low:,}", "high": f"{high:,}"})
    return number
