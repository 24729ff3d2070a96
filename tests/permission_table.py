"""Who may call which mutating API route: the one table that tests/test_permission_matrix.py
checks and docs/permissions.md shows.

Each row is a route (a path enum such as the lifecycle action gives a row per value) and the
status each caller gets when the object is in the state the action needs, so the status says
"may" or "may not", never "no such thing" or "not now". Regenerate the page after a change:

    .venv/bin/python -m tests.permission_table > docs/permissions.md
"""

from __future__ import annotations

# The demo login that stands for each role, then the two callers without one.
CALLERS = {"reporter": "nurse-wang", "engineer": "eng-duty", "office": "info-director", "commander": "dean",
           "department_lead": "cashier-head", "viewer": "auditor", "admin": "admin",
           "anonymous": None, "garbage token": None}

OK, CREATED, ACCEPTED, FORBIDDEN, UNAUTHORIZED = 200, 201, 202, 403, 401

# route -> (the state the object is put in first, statuses by caller). A caller left out is
# refused with 403; anonymous and a garbage token are always 401.
MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "POST /incidents": (
        "a published plan (202: stored, merged by the worker)",
        {"reporter": ACCEPTED, "engineer": ACCEPTED, "office": ACCEPTED, "commander": ACCEPTED,
         "department_lead": ACCEPTED, "admin": ACCEPTED}),
    "POST /incidents/{incident_id}/acknowledge": (
        "a class III, level 3 incident, reported", {"engineer": OK, "office": OK}),
    "POST /incidents/{incident_id}/arrive": ("… acknowledged", {"engineer": OK, "office": OK}),
    "POST /incidents/{incident_id}/activate": ("… on site", {"commander": OK, "office": OK}),
    "POST /incidents/{incident_id}/stand_down": ("… activated", {"commander": OK, "office": OK}),
    "POST /incidents/{incident_id}/restore": ("… on site", {"engineer": OK, "office": OK}),
    "POST /incidents/{incident_id}/close": ("… restored", {"engineer": OK, "office": OK}),
    "POST /incidents/{incident_id}/cancel": ("… reported, with a reason", {"office": OK}),
    "POST /notifications/{message_id}/ack": ("a page to eng-duty, not yet acknowledged",
                                              {"engineer": OK, "office": OK}),
    "POST /rosters/{code}/overrides": ("roster it-duty, tomorrow's shift", {"office": CREATED, "admin": CREATED}),
    "POST /rosters/{code}/swap": ("roster it-duty, two coming shifts", {"office": CREATED, "admin": CREATED}),
    "POST /incidents/{incident_id}/records": (
        "a hospital-wide incident, a cashier's slip", {"office": CREATED, "department_lead": CREATED}),
    "POST /incidents/{incident_id}/records/import": (
        "a hospital-wide incident, a CSV of cashier's slips (a reporter of another department gets 200 "
        "with every row rejected, naming the department)", {"reporter": OK, "office": OK, "department_lead": OK}),
    "POST /records/{record_id}/enter": ("a cashier's record, pending", {"office": OK, "department_lead": OK}),
    "POST /records/{record_id}/verify": ("… entered", {"office": OK, "department_lead": OK}),
    "POST /records/{record_id}/confirm": ("… verified", {"office": OK, "department_lead": OK}),
    "POST /records/{record_id}/settle": ("an insured cashier's record, entered",
                                         {"office": OK, "department_lead": OK}),
    "POST /incidents/{incident_id}/reconciliation/{department}": (
        "the cashier's records, unsigned", {"office": OK, "department_lead": OK}),
    "POST /incidents/{incident_id}/reconciliation/{department}/sign": (
        "… the paper count entered, signing as lead with a note", {"office": OK, "department_lead": OK}),
    "POST /temp-ranges": ("a prefix nobody has reserved", {"office": CREATED, "admin": CREATED}),
    "POST /departments/{department}/temp-number": (
        "the cashier's reserved range", {"office": OK, "department_lead": OK}),
    "POST /silences": ("a maintenance window of LIS tonight", {"engineer": CREATED, "office": CREATED}),
    "POST /silences/{silence_id}/end": ("… created", {"engineer": OK, "office": OK}),
}


def expected(route: str, caller: str) -> int:
    if CALLERS[caller] is None:
        return UNAUTHORIZED
    return MATRIX[route][1].get(caller, FORBIDDEN)


def markdown() -> str:
    callers = list(CALLERS)
    head = ["route", "set up", *(f"{c} (`{CALLERS[c]}`)" if CALLERS[c] else c for c in callers)]
    lines = [
        "# Who may call which API route",
        "",
        "Generated from `tests/permission_table.py`, the table `tests/test_permission_matrix.py` checks",
        "against the API; regenerate with `.venv/bin/python -m tests.permission_table > docs/permissions.md`.",
        "Each cell is the status the caller gets when the object is already in the state the action",
        "needs. 401: no token or a token that is not one; 403: the role may not; 409, 400 or 404 never",
        "appear here, because each row sets up a realistic object first. Roles are narrowed further by",
        "the plan (activation per response level, closing per fault class) and by department (staff",
        "and leads act for their own); `tests/test_permissions.py` checks those rules.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for route, (state, _statuses) in MATRIX.items():
        lines.append(f"| `{route}` | {state} | " + " | ".join(str(expected(route, c)) for c in callers) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
