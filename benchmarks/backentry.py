"""Back-entry at scale: import a 50,000-row XLSX typed up from paper logs, then reconcile
100,000 manual records (SQLite, in-process, through the same action the API calls).

The XLSX is written by openpyxl like a spreadsheet a clerk would save: one sheet, a header row,
mixed departments, kinds, card and temporary numbers, amounts and insurance schemes. The import
is timed from the file's bytes to committed rows (parse, check every row, insert, audit entry).
A second file brings the incident to 100,000 records; reconciliation is the per-department
GROUP BY the reconciliation page and API run. Targets (issue #4): import ≥ 5,000 rows/s,
reconciliation ≤ 1 s. Peak RSS is the whole process (Django, openpyxl, both imports).

    python benchmarks/backentry.py [--rows 50000] [--total 100000]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEPARTMENTS = ["cashier", "outpatient-doctors", "outpatient-pharmacy", "medtech", "wards", "inpatient-billing"]
KINDS = {"cashier": "charge", "outpatient-doctors": "prescription", "outpatient-pharmacy": "charge",
         "medtech": "lab_request", "wards": "medication", "inpatient-billing": "discharge"}


def workbook(rows: int, offset: int, start: object) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["kind", "department", "card_no", "temp_no", "paper_serial", "occurred_at", "amount",
                  "clinician", "insurance"])
    for i in range(offset, offset + rows):
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        temp = department == "cashier" and i % 10 == 0
        sheet.append([KINDS[department], department, "" if temp else f"{6200000 + i}",
                      f"MZLS{(i // 10) % 5000 + 1:06d}" if temp else "", f"P{i:07d}",
                      start + timedelta(seconds=i % 7200), f"{(i % 500) + 0.5:.2f}",  # type: ignore[operator]
                      "王医生", ("employee", "resident", "")[i % 3]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--total", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["YINGJI_DATA_DIR"] = tempfile.mkdtemp(prefix="yingji-backentry-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yingji.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from yingji.core import clock
    from yingji.core.actors import CLI
    from yingji.core.demo import load_demo
    from yingji.incidents import actions as incident_actions
    from yingji.recovery import actions
    from yingji.recovery.models import ManualRecord
    from yingji.recovery.reconciliation import reconciliation

    call_command("migrate", verbosity=0)
    load_demo("zh")
    incident = incident_actions.report_fault(CLI, system="HIS", symptom="HIS down", scope="hospital").incident
    start = (clock.now() - timedelta(hours=3)).astimezone().replace(tzinfo=None, microsecond=0)

    first = workbook(args.rows, 0, start)
    began = time.perf_counter()
    result = actions.import_records(CLI, incident, "paper-log-1.xlsx", first)
    import_s = time.perf_counter() - began
    assert result.accepted == args.rows, result.rejected[:5]

    rest = args.total - args.rows
    if rest > 0:
        second = actions.import_records(CLI, incident, "paper-log-2.xlsx", workbook(rest, args.rows, start))
        assert second.accepted == rest, second.rejected[:5]
    # Move a realistic share along the back-entry chain so the counts are not all "pending".
    ManualRecord.objects.filter(incident=incident, id__in=ManualRecord.objects.filter(incident=incident)
                                .values("id")[: args.total // 2]).update(state="confirmed")
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        departments = reconciliation(incident)
        timings.append(time.perf_counter() - began)
    assert sum(d["total"] for d in departments) == args.total
    print(json.dumps({
        "benchmark": "backentry", "database": "sqlite",
        "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, Python {platform.python_version()}",
        "import_rows": args.rows, "import_s": round(import_s, 2), "import_rows_per_s": round(args.rows / import_s),
        "records": args.total, "departments": len(departments), "reconcile_s": round(min(timings), 3),
        "reconcile_max_s": round(max(timings), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
