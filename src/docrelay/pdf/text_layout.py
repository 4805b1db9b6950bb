"""Line breaking, fitting and drawing of multi-script text on a reportlab canvas.

Text passes through three steps before it is drawn. First, Arabic letters
are shaped into their contextual forms (arabic-reshaper). Next, every
character gets a font or is replaced (see :mod:`docrelay.pdf.fonts`).
Last, each line is reordered from logical to visual order with the Unicode
bidirectional algorithm (python-bidi), so Hebrew and Arabic read right to
left.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import arabic_reshaper
from bidi import get_base_level, get_display
from reportlab.pdfgen.canvas import Canvas

from docrelay.pdf.fonts import FontChain

ELLIPSIS = "\u2026"
LINE_SPACING = 1.2

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


@dataclass(frozen=True)
class TextBlock:
    """Lines of text in logical order, laid out at one font size."""

    lines: list[str]
    size: float
    truncated: bool = False

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * LINE_SPACING


def prepare(text: str, chain: FontChain) -> str:
    """Shape Arabic letters and apply the font replacement rule."""
    # NOTE: shaped Arabic is drawn as presentation-form code points
    # (U+FB50-U+FEFF), so copied or extracted Arabic text comes out in those
    # forms rather than the letters typed; Hebrew, Latin and CJK round-trip.
    if _ARABIC.search(text):
        text = arabic_reshaper.reshape(text)
    return chain.clean(text)


def wrap(text: str, width: float, size: float, chain: FontChain) -> list[str]:
    """Break prepared text into lines no wider than ``width``.

    Lines break at spaces when possible; a word wider than the line is
    broken between characters. Explicit line breaks are kept. Nothing is
    dropped, so the audit trail can rely on this to show values in full.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width, size, chain))
    return lines


def _wrap_paragraph(paragraph: str, width: float, size: float, chain: FontChain) -> list[str]:
    lines: list[str] = []
    current, current_width = "", 0.0
    space_width = chain.width(" ", size)
    for word in paragraph.split(" "):
        word_width = chain.width(word, size)
        candidate_width = current_width + space_width + word_width if current else word_width
        if candidate_width <= width:
            current = f"{current} {word}" if current else word
            current_width = candidate_width
            continue
        if current:
            lines.append(current)
        current, current_width = "", 0.0
        for piece in _break_word(word, width, size, chain):
            if current:
                lines.append(current)
            current, current_width = piece, chain.width(piece, size)
    lines.append(current)
    return lines


def _break_word(word: str, width: float, size: float, chain: FontChain) -> list[str]:
    pieces: list[str] = []
    current, current_width = "", 0.0
    for char in word:
        char_width = chain.width(char, size)
        if current and current_width + char_width > width:
            pieces.append(current)
            current, current_width = "", 0.0
        current += char
        current_width += char_width
    pieces.append(current)
    return pieces


def fit(
    text: str,
    width: float,
    height: float,
    chain: FontChain,
    *,
    max_size: float,
    min_size: float,
) -> TextBlock:
    """Lay out text in a field: shrink it, then wrap it, then cut it.

    First the text is tried on one line at sizes from ``max_size`` down to
    ``min_size``. When no size fits, it is wrapped at the largest size whose
    lines fit the height. When even ``min_size`` is too large, the lines that
    fit are kept and the last one ends with an ellipsis.
    """
    prepared = prepare(text, chain)
    sizes = _sizes(max_size, min_size)

    if "\n" not in prepared:
        for size in sizes:
            if size <= height and chain.width(prepared, size) <= width:
                return TextBlock([prepared], size)

    for size in sizes:
        lines = wrap(prepared, width, size, chain)
        if _fits(lines, height, size):
            return TextBlock(lines, size)
    return _truncate(lines, width, height, min_size, chain)


def _sizes(max_size: float, min_size: float) -> list[float]:
    sizes = [max_size]
    while sizes[-1] > min_size:
        sizes.append(max(min_size, sizes[-1] - 0.5))
    return sizes


def _fits(lines: list[str], height: float, size: float) -> bool:
    if len(lines) == 1:
        return size <= height
    return len(lines) * size * LINE_SPACING <= height


def _truncate(
    lines: list[str], width: float, height: float, size: float, chain: FontChain
) -> TextBlock:
    visible = max(1, math.floor(height / (size * LINE_SPACING)))
    visible_lines = lines[:visible]
    last = visible_lines[-1]
    while last and chain.width(last.rstrip() + ELLIPSIS, size) > width:
        last = last[:-1]
    visible_lines[-1] = last.rstrip() + ELLIPSIS
    return TextBlock(visible_lines, size, truncated=True)


def is_right_to_left(line: str) -> bool:
    """Tell whether a line's base direction is right to left."""
    return get_base_level(line) == 1 if line.strip() else False


def draw_line(
    canvas: Canvas,
    line: str,
    x: float,
    baseline: float,
    size: float,
    chain: FontChain,
    *,
    base_direction: str | None = None,
) -> float:
    """Draw one prepared line in visual order starting at ``x``; return its width.

    ``base_direction`` ("L" or "R") overrides the paragraph direction that
    the bidirectional algorithm would take from the first strong character.
    """
    visual = str(get_display(line, base_dir=base_direction))
    cursor = x
    for run in chain.runs(visual):
        canvas.setFont(run.font, size)
        canvas.drawString(cursor, baseline, run.text)
        cursor += chain.width(run.text, size)
    return cursor - x


def draw_block(
    canvas: Canvas,
    block: TextBlock,
    box: tuple[float, float, float, float],
    chain: FontChain,
    *,
    padding: float = 2.0,
) -> None:
    """Draw a block centred vertically in ``box`` (x, y, width, height; y up).

    Left-to-right lines are aligned left and right-to-left lines right.
    """
    x, y, width, height = box
    size = block.size
    line_height = size * LINE_SPACING if len(block.lines) > 1 else size
    top = y + (height + len(block.lines) * line_height) / 2
    ascent = chain.primary.ascent * size
    descent = -chain.primary.descent * size
    # Centre the glyph box (ascent + descent) inside each line's box.
    baseline_offset = (line_height - (ascent + descent)) / 2 + ascent
    for index, line in enumerate(block.lines):
        baseline = top - index * line_height - baseline_offset
        line_width = chain.width(line, size)
        if is_right_to_left(line):
            start = x + max(padding, width - padding - line_width)
        else:
            start = x + min(padding, max(0.0, width - line_width))
        draw_line(canvas, line, start, baseline, size, chain)
