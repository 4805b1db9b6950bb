"""Audit trail pages appended to completed documents.

The pages list the document, its signatories with every action they took,
and the full hash-chained event history. Values are wrapped, never cut, so
the audit trail always shows field values and user agents in full.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfgen.canvas import Canvas

from docrelay.clock import ensure_utc
from docrelay.pdf import text_layout
from docrelay.pdf.fonts import FontChain, bold_chain, regular_chain

PAGE_SIZES = {"A4": A4, "Letter": LETTER}
MARGIN = 48.0
LABEL_WIDTH = 150.0
BODY_SIZE = 9.0
SMALL_SIZE = 7.5
HEADING_SIZE = 12.0
TITLE_SIZE = 18.0
GREY = (0.35, 0.35, 0.35)


@dataclass(frozen=True)
class AuditAction:
    """Something a signatory did, such as viewing, signing or declining."""

    action: str
    occurred_at: dt.datetime
    ip_address: str | None = None
    user_agent: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class AuditSignatory:
    """A signatory as the audit trail shows them."""

    name: str
    email: str
    status: str
    actions: Sequence[AuditAction] = ()


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the document's hash-chained event history."""

    sequence: int
    occurred_at: dt.datetime
    type: str
    data: str
    hash: str


@dataclass(frozen=True)
class AuditTrail:
    """Everything the audit trail pages show about one document.

    ``unsealed_sha256`` is the SHA-256 of the document with its fields drawn,
    before the audit pages are appended and the seal is added;
    :func:`docrelay.pdf.complete.complete_document` fills it in.
    """

    document_id: str
    document_name: str
    template_name: str
    template_version: int | str
    account_name: str
    source_sha256: str
    signatories: Sequence[AuditSignatory] = ()
    events: Sequence[AuditEvent] = ()
    unsealed_sha256: str | None = None
    generated_at: dt.datetime | None = None
    page_size: str = "A4"
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Line:
    """A laid-out line: its text, style, left indent and space above it."""

    text: str
    size: float
    indent: float = 0.0
    bold: bool = False
    grey: bool = False
    space_before: float = 0.0
    column: float | None = None
    column_text: str = ""
    column_size: float = BODY_SIZE
    group: int = 0

    @property
    def advance(self) -> float:
        return self.space_before + self.size * text_layout.LINE_SPACING


def format_time(value: dt.datetime) -> str:
    """Format a time as UTC with seconds, the way the audit trail prints it."""
    return ensure_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_audit_trail(trail: AuditTrail) -> bytes:
    """Render the audit trail as a standalone PDF and return its bytes."""
    if trail.page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}, not {trail.page_size!r}")
    page_width, page_height = PAGE_SIZES[trail.page_size]
    layout = _Layout(page_width - 2 * MARGIN)
    _document_section(layout, trail)
    _signatories_section(layout, trail.signatories)
    _events_section(layout, trail.events)
    return _render(layout.lines, trail, page_width, page_height)


class _Layout:
    """Collects wrapped lines for the text column."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.lines: list[_Line] = []
        self.regular = regular_chain()
        self.bold = bold_chain()
        self.group = 0

    def keep_together(self) -> None:
        """Start a group of lines that moves to the next page as a whole when it can."""
        self.group += 1

    def heading(self, text: str, *, size: float = HEADING_SIZE) -> None:
        self.paragraph(text, size=size, bold=True, space_before=size * 0.9)

    def paragraph(
        self,
        text: str,
        *,
        size: float = BODY_SIZE,
        indent: float = 0.0,
        bold: bool = False,
        grey: bool = False,
        space_before: float = 0.0,
    ) -> None:
        chain = self.bold if bold else self.regular
        prepared = text_layout.prepare(text, chain)
        for index, line in enumerate(text_layout.wrap(prepared, self.width - indent, size, chain)):
            gap = space_before if index == 0 else 0.0
            self.lines.append(_Line(line, size, indent, bold, grey, gap, group=self.group))

    def labelled(
        self, label: str, value: str, *, indent: float = 0.0, size: float = BODY_SIZE
    ) -> None:
        """Add a label in the left column and its value wrapped in the right one."""
        prepared_label = text_layout.prepare(label, self.regular)
        prepared_value = text_layout.prepare(value or "-", self.regular)
        label_width = LABEL_WIDTH - indent - 8
        labels = text_layout.wrap(prepared_label, label_width, BODY_SIZE, self.regular)
        values = text_layout.wrap(prepared_value, self.width - LABEL_WIDTH, size, self.regular)
        for index in range(max(len(labels), len(values))):
            self.lines.append(
                _Line(
                    labels[index] if index < len(labels) else "",
                    BODY_SIZE,
                    indent,
                    grey=True,
                    space_before=2.0 if index == 0 else 0.0,
                    column=LABEL_WIDTH,
                    column_text=values[index] if index < len(values) else "",
                    column_size=size,
                    group=self.group,
                )
            )


def _document_section(layout: _Layout, trail: AuditTrail) -> None:
    layout.paragraph("Audit trail", size=TITLE_SIZE, bold=True)
    layout.heading("Document")
    layout.labelled("Document ID", trail.document_id)
    layout.labelled("Document name", trail.document_name)
    layout.labelled("Template", f"{trail.template_name} (version {trail.template_version})")
    layout.labelled("Account", trail.account_name)
    layout.labelled("Source PDF SHA-256", trail.source_sha256, size=SMALL_SIZE)
    layout.labelled("Stamped PDF SHA-256", trail.unsealed_sha256 or "not recorded", size=SMALL_SIZE)
    layout.paragraph(
        "The stamped PDF is the source with every field value drawn, before these "
        "audit pages and the seal were added.",
        size=SMALL_SIZE,
        indent=LABEL_WIDTH,
        grey=True,
    )
    if trail.generated_at is not None:
        layout.labelled("Audit trail generated", format_time(trail.generated_at))
    for label, value in trail.extra:
        layout.labelled(label, value)


def _signatories_section(layout: _Layout, signatories: Sequence[AuditSignatory]) -> None:
    layout.heading("Signatories")
    if not signatories:
        layout.paragraph("No signatories.", grey=True)
    for number, signatory in enumerate(signatories, start=1):
        layout.keep_together()
        layout.paragraph(
            f"{number}. {signatory.name} <{signatory.email}>", bold=True, space_before=8.0
        )
        layout.labelled("Status", signatory.status, indent=12.0)
        for action in signatory.actions:
            layout.keep_together()
            layout.paragraph(
                f"{action.action} at {format_time(action.occurred_at)}",
                indent=12.0,
                space_before=4.0,
            )
            layout.labelled("IP address", action.ip_address or "not recorded", indent=24.0)
            layout.labelled("User agent", action.user_agent or "not recorded", indent=24.0)
            if action.detail:
                layout.labelled("Detail", action.detail, indent=24.0)


def _events_section(layout: _Layout, events: Sequence[AuditEvent]) -> None:
    layout.heading("Event history")
    if not events:
        layout.paragraph("No events.", grey=True)
    for event in sorted(events, key=lambda item: item.sequence):
        layout.keep_together()
        layout.paragraph(
            f"#{event.sequence}  {format_time(event.occurred_at)}  {event.type}",
            bold=True,
            space_before=6.0,
        )
        if event.data:
            layout.paragraph(event.data, indent=12.0)
        layout.paragraph(f"SHA-256 {event.hash}", size=SMALL_SIZE, indent=12.0, grey=True)


def _render(lines: list[_Line], trail: AuditTrail, page_width: float, page_height: float) -> bytes:
    pages = _paginate(lines, page_height)
    buffer = io.BytesIO()
    regular, bold = regular_chain(), bold_chain()
    canvas = Canvas(
        buffer,
        pagesize=(page_width, page_height),
        pageCompression=1,
        invariant=1,
        initialFontName=regular.primary.name,
    )
    canvas.setTitle(f"Audit trail: {trail.document_name}")
    for number, page_lines in enumerate(pages, start=1):
        _draw_footer(canvas, trail, number, len(pages), page_width, regular)
        baseline = page_height - MARGIN
        for line in page_lines:
            baseline -= line.advance
            _draw(canvas, line, baseline, bold if line.bold else regular)
            if line.column is not None and line.column_text:
                canvas.setFillColorRGB(0, 0, 0)
                text_layout.draw_line(
                    canvas,
                    line.column_text,
                    MARGIN + line.column,
                    baseline,
                    line.column_size,
                    regular,
                    base_direction="L",
                )
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _paginate(lines: list[_Line], page_height: float) -> list[list[_Line]]:
    usable = page_height - 2 * MARGIN - 18.0
    groups: list[list[_Line]] = []
    for line in lines:
        if groups and groups[-1][0].group == line.group:
            groups[-1].append(line)
        else:
            groups.append([line])

    pages: list[list[_Line]] = [[]]
    used = 0.0
    for group in groups:
        height = sum(line.advance for line in group)
        if pages[-1] and used + height > usable and height <= usable:
            pages.append([])
            used = 0.0
        for line in group:
            # A group taller than a page breaks wherever the page is full.
            if pages[-1] and used + line.advance > usable:
                pages.append([])
                used = 0.0
            pages[-1].append(line)
            used += line.advance
    return pages


def _draw(canvas: Canvas, line: _Line, baseline: float, chain: FontChain) -> None:
    canvas.setFillColorRGB(*(GREY if line.grey else (0.0, 0.0, 0.0)))
    # The audit trail reads left to right; right-to-left names and values are
    # reordered within their line only.
    text_layout.draw_line(
        canvas, line.text, MARGIN + line.indent, baseline, line.size, chain, base_direction="L"
    )


def _draw_footer(
    canvas: Canvas,
    trail: AuditTrail,
    number: int,
    total: int,
    page_width: float,
    chain: FontChain,
) -> None:
    canvas.setFillColorRGB(*GREY)
    footer = text_layout.prepare(
        f"Audit trail · {trail.document_id} · page {number} of {total}", chain
    )
    text_layout.draw_line(canvas, footer, MARGIN, MARGIN / 2, SMALL_SIZE, chain)
