"""Fitting text into fields, font fallback and the replacement rule."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docrelay.pdf import fonts
from docrelay.pdf.fonts import REPORTLAB_FONTS, FontChain, FontSource, regular_chain
from docrelay.pdf.text_layout import ELLIPSIS, fit, is_right_to_left, prepare, wrap


@pytest.fixture(scope="module")
def chain() -> FontChain:
    return regular_chain()


def test_short_text_keeps_max_size(chain):
    block = fit("Jane Doe", 200, 20, chain, max_size=12, min_size=6)

    assert block.size == 12
    assert block.lines == ["Jane Doe"]
    assert not block.truncated


def test_text_shrinks_before_wrapping(chain):
    text = "Jane Alexandra Doe-Smithson"
    full_width = chain.width(text, 12)

    block = fit(text, full_width * 0.8, 14, chain, max_size=12, min_size=6)

    assert 6 <= block.size < 12
    assert block.lines == [text]
    assert chain.width(text, block.size) <= full_width * 0.8


def test_text_wraps_at_min_size_when_height_allows(chain):
    text = "word " * 30
    # Two lines of 6 pt fit in 15 pt, one line of 12 pt does not hold it all.
    block = fit(text.strip(), 150, 15, chain, max_size=12, min_size=6)

    assert block.size == 6
    assert len(block.lines) == 2 or block.truncated
    assert all(chain.width(line, block.size) <= 150 for line in block.lines)


def test_name_shrinks_rather_than_wraps(chain):
    # Two lines of 12 pt would fit this height, but shrinking comes first.
    block = fit("Jane Alexandra Doe-Smithson", 100, 30, chain, max_size=12, min_size=6)

    assert block.lines == ["Jane Alexandra Doe-Smithson"]
    assert block.size < 12


def test_tall_field_wraps_at_larger_size(chain):
    text = "The quick brown fox jumps over the lazy dog"

    block = fit(text, 100, 100, chain, max_size=12, min_size=6)

    assert block.size == 12
    assert len(block.lines) > 1
    assert " ".join(block.lines) == text


def test_overflowing_text_cut_with_ellipsis(chain):
    text = "lorem ipsum dolor sit amet " * 40

    block = fit(text, 100, 14, chain, max_size=12, min_size=6)

    assert block.truncated
    assert block.size == 6
    assert len(block.lines) == 1
    assert block.lines[-1].endswith(ELLIPSIS)
    assert chain.width(block.lines[-1], 6) <= 100


def test_wrap_never_drops_characters(chain):
    text = prepare("x" * 300 + " short " + "y" * 50, chain)

    lines = wrap(text, 80, 9, chain)

    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(chain.width(line, 9) <= 80 for line in lines)


def test_explicit_line_breaks_kept(chain):
    assert wrap("first\nsecond", 500, 9, chain) == ["first", "second"]


def test_arabic_shaped_into_presentation_forms(chain):
    shaped = prepare("مرحبا", chain)

    assert shaped != "مرحبا"
    assert all(0xFB50 <= ord(char) <= 0xFEFF for char in shaped)


def test_right_to_left_detected():
    assert is_right_to_left("שלום עולם")
    assert not is_right_to_left("Hello שלום")


REPLACEMENT_CASES = [
    ("A\U00013000B", "A\ufffdB"),  # no installed font has Egyptian hieroglyphs
    ("tab\there", "tab here"),  # other whitespace becomes a space
    ("a\u200fb\u202ec", "abc"),  # bidirectional controls are dropped
    ("bell\x07", "bell"),  # control characters are dropped
    ("line\nbreak", "line\nbreak"),
]


@pytest.mark.parametrize(("text", "expected"), REPLACEMENT_CASES)
def test_replacement_rule(chain, text, expected):
    assert chain.clean(text) == expected


def test_missing_font_skipped_with_warning(caplog):
    source = FontSource("DocRelayTestMissing", (Path("/nonexistent/font.ttf"),), "fonts-nothing")

    with caplog.at_level(logging.WARNING, logger="docrelay.pdf.fonts"):
        loaded = fonts._load(source)

    assert loaded is None
    assert any(r.action == "pdf_font_missing" for r in caplog.records)  # type: ignore[attr-defined]
    assert "fonts-nothing" in caplog.text


def test_latin_only_chain_replaces_uncovered_with_question_mark():
    # Bitstream Vera ships inside reportlab and has no U+FFFD glyph, so a
    # machine without the Debian fonts falls back to "?".
    vera = fonts._load(FontSource("DocRelayVera", (REPORTLAB_FONTS / "Vera.ttf",), "reportlab"))
    assert vera is not None
    latin_only = FontChain([vera])

    assert latin_only.clean("Jane 你好") == "Jane ??"
    assert latin_only.runs("Jane ??")[0].font == "DocRelayVera"
