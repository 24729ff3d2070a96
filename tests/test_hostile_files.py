"""Crafted spreadsheets and CSVs fail their own import with a 4xx naming the bound, and nothing else.

Each of these files once made the reader allocate without limit (one far cell in a 1.6 KB XLSX
asked calamine for 512 GiB and aborted the web process) or raised a 500. The tests run in this
process: had the reader aborted, the test run itself would have died.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
import pytest

from yingji.core import tables
from yingji.core.tables import TooLarge
from yingji.recovery.models import ManualRecord

from .conftest import report
from .test_backentry import CSV_HEADER, charge, upload

ROW = "charge,cashier,C0001,,{serial},{when},25.50,,\n"


def _xlsx(cells: dict[str, str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["kind", "department", "card_no", "paper_serial", "occurred_at", "amount"])
    for ref, value in (cells or {}).items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite_sheet(content: bytes, change: Any) -> bytes:
    """The same workbook with its first sheet's XML passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            target.writestr(item, data)
    return out.getvalue()


@pytest.fixture
def incident(api: Any) -> dict[str, Any]:
    return report(api("nurse-wang"), scope="hospital")


def _refused(api: Any, incident: dict[str, Any], name: str, content: bytes, status: int, bound: str = "") -> Any:
    response = upload(api("cashier-li"), incident["id"], name, content)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["field"] == "file", body
    if bound:
        assert body["bound"] == bound, body
    return body


def _still_imports(api: Any, incident: dict[str, Any]) -> None:
    good = CSV_HEADER + ROW.format(serial="OK-1", when=charge("x")["occurred_at"])
    response = upload(api("cashier-li"), incident["id"], "ok.csv", good.encode())
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content


def test_one_far_cell_is_refused_by_its_row_bound_and_the_process_lives_on(api: Any, incident: Any) -> None:
    far = _xlsx({"XFD1048576": "x"})
    assert len(far) < 8000
    body = _refused(api, incident, "far.xlsx", far, 413, "rows")
    assert body["limit"] == 200_000 and "200,000" in body["detail"]
    wide = _xlsx({"XFD2": "x"})
    assert _refused(api, incident, "wide.xlsx", wide, 413, "columns")["limit"] == 64
    _still_imports(api, incident)
    assert ManualRecord.objects.count() == 1


def test_cells_without_their_position_are_counted_one_by_one(api: Any, incident: Any) -> None:
    # No `r` on the cells: a reader places each one after the last, so 5,000 empty cells in a
    # row make a sheet 5,000 columns wide. The fast scan cannot see that; the full walk must.
    implicit = _rewrite_sheet(_xlsx(), lambda xml: xml.replace(b"</row>", b"<c/>" * 5000 + b"</row>", 1))
    _refused(api, incident, "implicit.xlsx", implicit, 413, "columns")
    # A position written after a tab instead of a space is still read as a position.
    tabbed = _rewrite_sheet(_xlsx(), lambda xml: xml.replace(b'<c r="A1"', b'<c\tr="A900000"', 1))
    _refused(api, incident, "tabbed.xlsx", tabbed, 413, "rows")


def test_bounds_come_from_settings(api: Any, incident: Any, settings: Any) -> None:
    when = charge("x")["occurred_at"]
    rows = CSV_HEADER + "".join(ROW.format(serial=f"S-{i}", when=when) for i in range(11))
    settings.YINGJI_IMPORT_MAX_ROWS = 10
    _refused(api, incident, "many.csv", rows.encode(), 413, "rows")
    book = _xlsx({f"A{i}": "charge" for i in range(2, 14)})
    _refused(api, incident, "many.xlsx", book, 413, "rows")
    settings.YINGJI_IMPORT_MAX_ROWS = 200_000

    settings.YINGJI_IMPORT_MAX_CELL_CHARS = 100
    _refused(api, incident, "long.csv", (CSV_HEADER + ROW.format(serial="L" * 101, when=when)).encode(), 413,
             "cell_chars")
    _refused(api, incident, "long.xlsx", _xlsx({"C2": "9" * 101}), 413, "cell_chars")
    settings.YINGJI_IMPORT_MAX_CELL_CHARS = 10_000

    settings.YINGJI_IMPORT_MAX_UNPACKED_BYTES = 4000
    _refused(api, incident, "bomb.xlsx", _xlsx({"C2": "0" * 5000}), 413, "unpacked_bytes")
    settings.YINGJI_IMPORT_MAX_UNPACKED_BYTES = 500 * 1024 * 1024

    settings.YINGJI_IMPORT_MAX_BYTES = 100  # refused at the HTTP edge, before the body is read
    big = upload(api("cashier-li"), incident["id"], "big.csv", rows.encode())
    assert big.status_code == 413 and big.json()["limit"] == 100, big.content
    with pytest.raises(TooLarge) as bound:  # and by the reader, for files that do not come over HTTP
        tables.csv_rows(rows.encode(), tables.Limits.from_settings()).__next__()
    assert bound.value.details["bound"] == "bytes"
    settings.YINGJI_IMPORT_MAX_BYTES = 50 * 1024 * 1024
    _still_imports(api, incident)


def test_a_reader_that_runs_out_of_memory_fails_only_its_request(api: Any, incident: Any, settings: Any) -> None:
    settings.YINGJI_IMPORT_READER_MEMORY_BYTES = 1 << 20  # too little for calamine to open any workbook
    body = _refused(api, incident, "fine.xlsx", _xlsx({"A2": "charge"}), 413, "reader_memory")
    assert "1 MB" in body["detail"]
    _still_imports(api, incident)


def test_csv_in_utf16_is_read_and_undecodable_or_nul_text_is_refused(api: Any, incident: Any) -> None:
    when = charge("x")["occurred_at"]
    text = CSV_HEADER + ROW.format(serial="U16-1", when=when)
    accepted = upload(api("cashier-li"), incident["id"], "excel.csv", text.encode("utf-16"))
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1, accepted.content
    _refused(api, incident, "latin.csv", CSV_HEADER.encode() + b"\xff\xff\xff,\x80\n", 400)
    _refused(api, incident, "bad16.csv", b"\xff\xfe" + b"k\x00\x00\xd8", 400)
    nul = _refused(api, incident, "nul.csv", (CSV_HEADER + "charge,cash\x00ier\n").encode(), 400)
    assert "2" in nul["detail"]
    _refused(api, incident, "zip.xlsx", b"PK\x03\x04 not really a zip", 400)
    assert ManualRecord.objects.filter(paper_serial="U16-1").exists()


def _with_part(content: bytes, name: str, data: bytes, change: Any = None) -> bytes:
    """The workbook with one more part, and optionally its other parts passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = source.read(item.filename)
            target.writestr(item, change(item.filename, part) if change else part)
        target.writestr(name, data)
    return out.getvalue()


def test_lowercase_positions_and_a_first_sheet_elsewhere_are_still_bounded(api: Any, incident: Any) -> None:
    lower = _rewrite_sheet(_xlsx(), lambda xml: xml.replace(b'<c r="A1"', b'<c r="a900000"', 1))
    _refused(api, incident, "lower.xlsx", lower, 413, "rows")
    # The workbook's first sheet points (with single quotes) at a part not named like a sheet.
    far = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' \
          b'<row r="900000"><c r="A900000" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'

    def point_elsewhere(name: str, part: bytes) -> bytes:
        if name == "xl/_rels/workbook.xml.rels":
            return part.replace(b'Target="/xl/worksheets/sheet1.xml"', b"Target='/xl/hidden.xml'").replace(
                b'Target="worksheets/sheet1.xml"', b"Target='hidden.xml'")
        return part

    elsewhere = _with_part(_xlsx(), "xl/hidden.xml", far, point_elsewhere)
    _refused(api, incident, "elsewhere.xlsx", elsewhere, 413, "rows")
    shared = _with_part(_xlsx(), "xl/strings2.xml", b"<sst><si><t>" + b"9" * 20_000 + b"</t></si></sst>")
    _refused(api, incident, "shared.xlsx", shared, 413, "cell_chars")


def test_the_long_text_check_stays_linear_on_text_made_of_brackets(api: Any, incident: Any) -> None:
    import time

    from yingji.core import tables

    part = (b">" * 9_999 + b"<") * 400  # 4 MB: each run just under the bound, from every '>'
    started = time.perf_counter()
    tables._check_texts(part, tables.Limits.from_settings(), "sheet")
    assert time.perf_counter() - started < 1.0  # was 14 s with a search from every '>'


def test_a_reader_that_takes_too_long_is_stopped(api: Any, incident: Any, settings: Any, monkeypatch: Any) -> None:
    import time

    from yingji.core import tables

    settings.YINGJI_IMPORT_READER_SECONDS = 1
    monkeypatch.setattr(tables, "_read_in_child", lambda content, limits, conn: time.sleep(30))
    started = time.perf_counter()
    _refused(api, incident, "slow.xlsx", _xlsx({"A2": "charge"}), 413, "reader_seconds")
    assert time.perf_counter() - started < 10


def test_a_workbook_with_a_picture_in_it_is_read(api: Any, incident: Any) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(60)) * 400  # 24 KB without a "<" (60) anywhere
    book = _with_part(_xlsx({"A2": "charge", "B2": "cashier", "C2": "C9", "D2": "PIC-1",
                             "E2": charge("x")["occurred_at"], "F2": "3.00"}), "xl/media/image1.png", picture)
    response = upload(api("cashier-li"), incident["id"], "picture.xlsx", book)
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
