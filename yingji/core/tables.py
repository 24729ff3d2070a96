"""Reading spreadsheets and CSV files from outside, within bounds set before anything is allocated.

A sheet's size is not its file's size: one cell at XFD1048576 in a 1.6 KB XLSX makes a dense
reader such as calamine ask for 512 GiB, and Rust aborts the whole process when that fails,
taking every other request of the web worker with it. So an XLSX is first walked as a stream
(zip entries, then every sheet's XML for the positions its cells would take) and
refused with `TooLarge` naming the bound it passes. Only then is it read by calamine, in a
forked child whose address space is capped, so that a reader bug can fail only its own request.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import resource
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import ActionError, BadInput


class TooLarge(ActionError):
    """The input passes one of its bounds; `bound` names it and `limit` gives its value."""

    status_code = 413

    def __init__(self, bound: str, limit: int, message: str):
        super().__init__(message, field="file", bound=bound, limit=limit)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_unpacked_bytes: int
    reader_memory_bytes: int
    reader_seconds: int = 120

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(max_bytes=settings.YINGJI_IMPORT_MAX_BYTES, max_rows=settings.YINGJI_IMPORT_MAX_ROWS,
                   max_columns=settings.YINGJI_IMPORT_MAX_COLUMNS,
                   max_cell_chars=settings.YINGJI_IMPORT_MAX_CELL_CHARS,
                   max_unpacked_bytes=settings.YINGJI_IMPORT_MAX_UNPACKED_BYTES,
                   reader_memory_bytes=settings.YINGJI_IMPORT_READER_MEMORY_BYTES,
                   reader_seconds=settings.YINGJI_IMPORT_READER_SECONDS)


def check_size(content: bytes, limits: Limits) -> None:
    if len(content) > limits.max_bytes:
        raise TooLarge("bytes", limits.max_bytes, _("The file is larger than %(limit)s bytes; split it.")
                       % {"limit": f"{limits.max_bytes:,}"})


def _too_many_rows(limits: Limits) -> TooLarge:
    return TooLarge("rows", limits.max_rows, _("More than %(limit)s rows; split the file.")
                    % {"limit": f"{limits.max_rows:,}"})


def _too_many_columns(limits: Limits) -> TooLarge:
    return TooLarge("columns", limits.max_columns, _("More than %(limit)d columns; the sheet may have "
                                                     "only the record fields.") % {"limit": limits.max_columns})


def _cell_too_long(limits: Limits, where: str) -> TooLarge:
    return TooLarge("cell_chars", limits.max_cell_chars, _("A cell (%(where)s) holds more than %(limit)s "
                                                           "characters.") % {"where": where,
                                                                             "limit": f"{limits.max_cell_chars:,}"})


# -- CSV ------------------------------------------------------------------------------------

_BOMS = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its BOM, or GBK/GB18030 as Excel on Chinese Windows saves."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError as exc:
                raise BadInput("file", _("The file starts like %(encoding)s but is not valid %(encoding)s "
                                         "(byte %(at)d).") % {"encoding": encoding.upper(), "at": exc.start}) from exc
    for encoding in ("utf-8", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadInput("file", _("The file is neither UTF-8, UTF-16 nor GBK text; save it as CSV UTF-8."))


def csv_rows(content: bytes, limits: Limits) -> Iterator[list[str]]:
    check_size(content, limits)
    text = decode_text(content)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise BadInput("file", _("Line %(line)d holds a NUL character; this is not a text file.") % {"line": line})
    reader = csv.reader(io.StringIO(text))
    try:
        for number, cells in enumerate(reader, start=1):
            if number > limits.max_rows + 1:  # the header is not a record
                raise _too_many_rows(limits)
            if len(cells) > limits.max_columns:
                raise _too_many_columns(limits)
            for cell in cells:
                if len(cell) > limits.max_cell_chars:
                    raise _cell_too_long(limits, _("line %(line)d") % {"line": number})
            yield cells
    except csv.Error as exc:
        raise BadInput("file", _("Line %(line)d is not valid CSV: %(error)s")
                       % {"line": reader.line_num, "error": exc}) from exc


# -- XLSX -----------------------------------------------------------------------------------

_CELL_REF = re.compile(r"([A-Za-z]+)([0-9]+)$")
MAX_ZIP_ENTRIES = 1000


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():  # calamine reads "a1" as "A1"
        number = number * 26 + ord(letter) - 64
    return number


class _SheetScan:
    """Follows row and column positions as a reader would (explicit `r`, or one after the last)."""

    def __init__(self, limits: Limits, text_tags: tuple[str, ...]):
        self.limits = limits
        self.text_tags = text_tags
        self.row = 0
        self.column = 0
        self.in_text = 0
        self.text_chars = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "row":
            self.row = int(attrs["r"]) if attrs.get("r", "").isdigit() else self.row + 1
            self.column = 0
            if self.row > self.limits.max_rows + 1:
                raise _too_many_rows(self.limits)
        elif tag == "c":
            ref = _CELL_REF.match(attrs.get("r", ""))
            if ref:
                self.column = _column_number(ref[1])
                if int(ref[2]) > self.limits.max_rows + 1:
                    raise _too_many_rows(self.limits)
            else:
                self.column += 1
            if self.column > self.limits.max_columns:
                raise _too_many_columns(self.limits)
        elif tag in self.text_tags:
            self.in_text += 1
            self.text_chars = 0

    def end(self, name: str) -> None:
        if self.in_text and name.rpartition(":")[2] in self.text_tags:
            self.in_text -= 1

    def text(self, data: str) -> None:
        if self.in_text:
            self.text_chars += len(data)
            if self.text_chars > self.limits.max_cell_chars:
                where = _("row %(row)d") % {"row": self.row} if self.row else _("shared strings")
                raise _cell_too_long(self.limits, where)


def _stream(archive: zipfile.ZipFile, member: str, scan: _SheetScan) -> None:
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    parser.buffer_text = True
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


# The fast path: a few regular expressions over the unpacked XML, run in C, that touch Python
# only for cell references long enough to pass a bound. Excel, WPS and openpyxl write `r` as the
# first attribute of every row and cell, after one space; a sheet written otherwise (a position
# left out, a prefixed tag, another separator) is walked by `_SheetScan` instead.
_UNUSUAL_TAG = re.compile(rb"<(?:c|row)(?=[\s/>])(?! r=\")|<\w+:(?:c|row)[\s/>]")
_REF_AT = re.compile(rb' r="([A-Za-z]*)([0-9]*)"')
# A run of text (or of one tag's inside) longer than the cell bound, looked for only from the
# start of each run (after a '<', which also keeps the search on its fast literal-prefix path),
# so it stays linear however the XML is shaped.
_LONG_RUN = "<[^<]{%d}"


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _scan_fast(xml: bytes, limits: Limits) -> bool:
    """False when a row or cell is written so that only a full walk can place it."""
    if _UNUSUAL_TAG.search(xml):
        return False
    last_row = limits.max_rows + 1  # the header is not a record
    digits, letters = len(str(last_row)), len(_column_letters(limits.max_columns + 1))
    suspects = re.compile(rb' r="(?:[A-Za-z]*[0-9]{%d}|[A-Za-z]{%d})' % (digits, letters))
    for suspect in suspects.finditer(xml):
        ref = _REF_AT.match(xml, suspect.start())
        if ref is None:
            return False
        if ref[2] and int(ref[2]) > last_row:
            raise _too_many_rows(limits)
        if ref[1] and _column_number(ref[1].decode()) > limits.max_columns:
            raise _too_many_columns(limits)
    return True


def _check_texts(xml: bytes, limits: Limits, where: str) -> None:
    run = (_LONG_RUN % (limits.max_cell_chars + 1)).encode()
    found = re.match(run[1:], xml) or re.search(run, xml)
    if found:
        line = xml.count(b"\n", 0, found.start()) + 1
        raise _cell_too_long(limits, _("%(part)s, line %(line)d") % {"part": where, "line": line})


def scan_xlsx(content: bytes, limits: Limits) -> None:
    """Refuse a workbook any of whose sheets would pass a bound, before a reader lays one out."""
    check_size(content, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise TooLarge("zip_entries", MAX_ZIP_ENTRIES, _("The workbook holds more than %(limit)d parts.")
                           % {"limit": MAX_ZIP_ENTRIES})
        if sum(e.file_size for e in entries) > limits.max_unpacked_bytes:
            raise TooLarge("unpacked_bytes", limits.max_unpacked_bytes,
                           _("Unpacked, the workbook is larger than %(limit)s bytes.")
                           % {"limit": f"{limits.max_unpacked_bytes:,}"})
        # Every part, not only the ones named as Excel names them: calamine follows the
        # workbook's relationships, which may point anywhere in the zip.
        for entry in entries:
            if entry.is_dir():
                continue
            part = archive.read(entry)
            if not part.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                continue  # not XML (an embedded picture): calamine reads no cells from it
            if b"sheetData" in part and not _scan_fast(part, limits):
                _stream(archive, entry.filename, _SheetScan(limits, ("v", "t")))
            _check_texts(part, limits, entry.filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, expat.ExpatError, EOFError, ValueError,
            NotImplementedError, OSError) as exc:
        raise BadInput("file", _("Not a readable XLSX file: %(error)s") % {"error": exc}) from exc


def _read_in_child(content: bytes, limits: Limits, conn: Any) -> None:
    """Runs in the forked child: cap the address space, read the sheet, send its rows back."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = mapped + limits.reader_memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError):
        pass  # not Linux: the scan's bounds still hold
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
        last_row, last_column = sheet.end or (0, 0)  # 0-based; the scan should have caught a far cell
        if last_row + 1 > limits.max_rows + 1:
            conn.send(("bound", "rows"))
        elif last_column + 1 > limits.max_columns:
            conn.send(("bound", "columns"))
        else:
            conn.send(("rows", sheet.to_python(skip_empty_area=False)))
    except Exception as exc:  # calamine raises its own errors for a damaged or non-XLSX file
        conn.send(("error", str(exc)))
    conn.close()


def xlsx_rows(content: bytes, limits: Limits) -> Iterator[list[Any]]:
    """The first sheet from its top-left corner, so list positions are spreadsheet rows.

    calamine (Rust) reads a 50,000-row sheet in a fraction of a second, where openpyxl's
    read-only mode took most of the import's time; dates come back as datetime.
    """
    scan_xlsx(content, limits)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_read_in_child, args=(content, limits, sender), daemon=True)
    child.start()
    sender.close()
    try:
        kind, value = receiver.recv() if receiver.poll(limits.reader_seconds) else ("slow", None)
    except EOFError:
        kind, value = "died", None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "slow":
        raise TooLarge("reader_seconds", limits.reader_seconds, _("The sheet could not be read within %(limit)d "
                                                                  "seconds.") % {"limit": limits.reader_seconds})
    if kind == "bound":
        raise _too_many_rows(limits) if value == "rows" else _too_many_columns(limits)
    if kind == "died":
        raise TooLarge("reader_memory", limits.reader_memory_bytes,
                       _("The sheet could not be read within %(limit)s MB of memory.")
                       % {"limit": limits.reader_memory_bytes >> 20})
    if kind == "error":
        raise BadInput("file", _("Not a readable XLSX file: %(error)s") % {"error": value})
    return iter(value or [])
