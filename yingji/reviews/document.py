"""The post-incident review and the regulatory reports as documents: built once as blocks
(headings, paragraphs, tables), written to PDF (reportlab, with an embedded CJK font) or DOCX
(python-docx), always in the language of the plan the incident ran under.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.db.models import Count, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from yingji.core.actors import display_name
from yingji.core.models import AuditEntry
from yingji.incidents.models import DowntimeMode, Incident
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of
from yingji.recovery.models import ManualRecord
from yingji.recovery.reconciliation import reconciliation
from yingji.web import words
from yingji.web.timeline import QUIET, describe

from .models import Evidence, RegulatoryReport, Review
from .regulatory import ITEMS

# Debian's fonts-wqy-microhei; embedded, so the PDF renders on a machine without Chinese fonts.
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
@dataclass
class Doc:
    title: str
    language: str  # the plan's: the words are already in it; DOCX picks its font by it
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def h(self, text: str) -> None:
        self.blocks.append(("h", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text or "-"))

    def table(self, rows: list[list[str]], nowrap: tuple[int, ...] = ()) -> None:
        """`nowrap`: columns (dates, names) sized to their longest cell, so each stays on one line."""
        self.blocks.append(("table", Grid(rows, nowrap)))


@dataclass
class Grid:
    rows: list[list[str]]
    nowrap: tuple[int, ...] = ()


def _local(plan: Plan, at: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
    return at.astimezone(plan.hospital.zone()).strftime(form) if at else "-"


def _minutes(start: datetime, end: datetime | None) -> str:
    return str(round((end - start).total_seconds() / 60)) if end else "-"


def review_doc(incident: Incident) -> Doc:
    plan = plan_of(incident.plan_version_id)
    with translation.override(plan.hospital.language):
        return _review(incident, plan)


def _review(incident: Incident, plan: Plan) -> Doc:
    review = Review.objects.filter(incident=incident).first() or Review(incident=incident)
    system = plan.system(incident.system)
    doc = Doc(_("Post-incident review %(number)s: %(system)s") % {
        "number": incident.number, "system": system.name if system else incident.system}, plan.hospital.language)
    doc.p(plan.hospital.name)
    doc.h(_("Summary"))
    doc.table([[_("Reported"), _local(plan, incident.reported_at)],
               [_("Acknowledged"), _local(plan, incident.acknowledged_at)],
               [_("Engineer on site"), _local(plan, incident.on_site_at)],
               [_("Plan activated"), _local(plan, incident.activated_at)],
               [_("Restored"), _local(plan, incident.restored_at)], [_("Closed"), _local(plan, incident.closed_at)],
               *[[words.scheme_name(plan, k), words.grade_name(plan, k, v)] for k, v in incident.grades().items()]])

    doc.h(_("Impact"))
    records = ManualRecord.objects.filter(incident=incident).aggregate(n=Count("id"), money=Sum("amount"))
    outage = [[_("System"), _("Outage (minutes)")]] + [
        [(s.name if (s := plan.system(code)) else code), _minutes(incident.reported_at, incident.restored_at)]
        for code in incident.systems()]
    doc.table(outage)
    doc.table([[_("Patients affected"), str(incident.patients_affected)],
               [_("Fault reports"), str(incident.reports_count)], [_("Manual records"), str(records["n"])],
               [_("Amount on paper"), f"{records['money'] or Decimal(0):.2f}"]])
    modes = DowntimeMode.objects.filter(incident=incident)
    if modes:
        doc.table([[_("Department"), _("Mode"), _("From"), _("Until")]] + [
            [words.department_name(plan, m.department), str(DowntimeMode.Mode(m.mode).label),
             _local(plan, m.started_at), _local(plan, m.ended_at)] for m in modes], nowrap=(2, 3))

    doc.h(_("Timeline"))
    entries = AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk).exclude(
        action__in=QUIET).order_by("id")
    lines = [describe(e, plan) for e in entries]
    doc.table([[_("Time"), _("Who"), _("What")]] + [
        [_local(plan, line.at, "%m-%d %H:%M:%S"), line.actor, line.text] for line in lines], nowrap=(0, 1))
    timers = incident.timers.exclude(kind__in=("probe", "regrade")).order_by("due_at")  # type: ignore[attr-defined]
    if timers:
        owed = {r.pk: str(RegulatoryReport.Kind(r.kind).label)
                for r in RegulatoryReport.objects.filter(incident=incident)}
        doc.h(_("Deadlines"))
        doc.table([[_("Deadline"), _("Due"), _("Outcome"), _("By")]] + [
            [owed.get(t.payload.get("report"), "") or words.word(words.TIMERS, t.kind), _local(plan, t.due_at),
             words.word(words.TIMER_STATES, t.state),
             display_name(t.finished_by, plan) if t.finished_by else "-"]
            for t in timers], nowrap=(1,))

    doc.h(_("Back-entry and reconciliation"))
    rows = reconciliation(incident)
    doc.table([[_("Department"), _("Records"), _("Confirmed"), _("Open"), _("Amount"), _("Signed off")]] + [
        [words.department_name(plan, r["department"]), str(r["total"]),
         str(r["confirmed"]), str(r["open"]), r["amount_total"], _("yes") if r["signed_off"] else _("no")]
        for r in rows] if rows else [[_("No manual records.")]])
    by_kind = (ManualRecord.objects.filter(incident=incident).values("kind")
               .annotate(n=Count("id"), money=Sum("amount")).order_by("kind"))
    if by_kind:
        order = [k.code for k in plan.recovery.record_kinds]
        ranked = sorted(by_kind, key=lambda r: order.index(r["kind"]) if r["kind"] in order else len(order))
        doc.table([[_("Kind of record"), _("Records"), _("Amount"), _("Entered into")]] + [
            [words.record_kind_name(plan, r["kind"]), str(r["n"]), f"{r['money'] or Decimal(0):.2f}",
             plan.backentry_system(r["kind"]).name] for r in ranked])

    for name, heading in Review.SECTIONS:
        doc.h(str(heading))
        doc.p(getattr(review, name))
    doc.h(_("Corrective actions"))
    actions = list(review.corrective_actions.all()) if review.pk else []
    doc.table([[_("Action"), _("Owner"), _("Due"), _("Status")]] + [
        [a.text, display_name(a.owner, plan), a.due_date.isoformat(),
         _("done") if a.done_at else _("open")] for a in actions] if actions else [[_("None recorded.")]])
    _evidence(doc, plan, incident)
    reports = RegulatoryReport.objects.filter(incident=incident)
    if reports:
        doc.h(_("Reports to authorities"))
        doc.table([[_("Report"), _("Due"), _("Sent")]] + [
            [str(RegulatoryReport.Kind(r.kind).label), _local(plan, r.due_at), _local(plan, r.sent_at)]
            for r in reports], nowrap=(1, 2))
    return doc


def regulatory_doc(report: RegulatoryReport) -> Doc:
    incident = report.incident
    plan = plan_of(incident.plan_version_id)
    with translation.override(plan.hospital.language):
        target = plan.contact(report.target)
        doc = Doc(f"{RegulatoryReport.Kind(report.kind).label} — {incident.number}", plan.hospital.language)
        doc.table([[_("Reporting unit"), plan.hospital.name], [_("Addressed to"), target.name if target else "-"],
                   [_("Reporting basis"), report.basis], [_("Due"), _local(plan, report.due_at)],
                   [_("Sent"), f"{_local(plan, report.sent_at)} {report.channel}".strip()],
                   [_("First report with items 1-2 only"), _("yes") if report.partial else _("no")]])
        for key, label in ITEMS[RegulatoryReport.Kind(report.kind)]:
            doc.h(str(label))
            doc.p(str(report.content.get(key, "")))
        if report.kind != RegulatoryReport.Kind.PIPL:
            _evidence(doc, plan, incident)
        return doc


def _evidence(doc: Doc, plan: Plan, incident: Incident) -> None:
    """The evidence log, when there is one: what, where it is kept, its SHA-256, who and when."""
    rows = Evidence.objects.filter(incident=incident)
    if rows:
        doc.h(_("Evidence preserved"))
        doc.table([[_("Time"), _("What"), _("Kept at"), "SHA-256", _("Who")]] + [
            [_local(plan, e.collected_at), _("%(what)s: %(note)s") % {"what": Evidence.Kind(e.kind).label,
                                                                       "note": e.what},
             e.location or "-", e.sha256 or "-", display_name(e.collected_by, plan)] for e in rows], nowrap=(0,))


# -- writers ----------------------------------------------------------------------------------


def _cjk_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "YingjiCJK" in pdfmetrics.getRegisteredFontNames():
        return "YingjiCJK"
    for path in CJK_FONTS:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont("YingjiCJK", path, subfontIndex=0))
            return "YingjiCJK"
    raise RuntimeError("no CJK font found; install fonts-wqy-microhei (scripts/install-system-deps does)")


CELL_PADDING = 12  # reportlab's left and right padding of a cell, in points


def _widths(grid: Grid, font: str, size: float, width: float) -> list[float] | None:
    """Column widths: each `nowrap` column as wide as its longest cell (at most 30 % of the page),
    the others sharing what is left; None (reportlab's own sizing) when no column is named."""
    if not grid.nowrap:
        return None
    from reportlab.pdfbase.pdfmetrics import stringWidth

    columns = max(len(row) for row in grid.rows)
    fixed = {i: min(width * 0.3, max(stringWidth(str(row[i]), font, size) for row in grid.rows if i < len(row))
                    + CELL_PADDING + 1) for i in grid.nowrap if i < columns}
    rest = [i for i in range(columns) if i not in fixed]
    share = (width - sum(fixed.values())) / len(rest) if rest else 0
    return [fixed.get(i, share) for i in range(columns)]


def to_pdf(doc: Doc) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import Flowable

    font = _cjk_font()
    width = A4[0] - 36 * mm  # between the margins
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=body, fontSize=12.5, leading=17, spaceBefore=8, spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=21, spaceAfter=8)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(str(text).replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br/>"), style)

    story: list[Flowable] = [para(doc.title, title)]
    for kind, value in doc.blocks:
        if kind == "h":
            story.append(para(str(value), heading))
        elif kind == "p":
            story.append(para(str(value)))
            story.append(Spacer(1, 2 * mm))
        else:
            grid: Grid = value  # type: ignore[assignment]
            rows = [[para(cell) for cell in row] for row in grid.rows]
            table = Table(rows, colWidths=_widths(grid, font, body.fontSize, width),
                          repeatRows=1 if len(rows) > 2 else 0, hAlign="LEFT")
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [table, Spacer(1, 3 * mm)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=doc.title, leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=16 * mm, bottomMargin=16 * mm).build(story)
    return out.getvalue()


def to_docx(doc: Doc) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Microsoft YaHei" if doc.language.startswith("zh") else "Calibri"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Microsoft YaHei")  # Chinese text in Word's CJK font
    document.core_properties.title = doc.title
    document.add_heading(doc.title, level=0)
    for kind, value in doc.blocks:
        if kind == "h":
            document.add_heading(str(value), level=1)
        elif kind == "p":
            document.add_paragraph(str(value))
        else:
            rows = value.rows  # type: ignore[attr-defined]
            table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            table.style = "Table Grid"
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = str(cell)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(doc: Doc, fmt: str) -> bytes:
    if fmt == "pdf":
        return to_pdf(doc)
    if fmt == "docx":
        return to_docx(doc)
    raise ValueError(f"format must be pdf or docx, not {fmt!r}")
