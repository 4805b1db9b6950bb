"""Page images rendered with PDFium."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from pdf_builders import PageSpec, build_pdf
from PIL import Image

from docrelay.errors import ValidationError
from docrelay.pdf.render import page_count, render_page_png


def test_page_count(sample_bytes):
    assert page_count(sample_bytes["pdflatex-4-pages.pdf"]) == 4
    assert page_count(sample_bytes["minimal-document.pdf"]) == 1


def test_render_width_and_aspect(sample_bytes):
    png = render_page_png(sample_bytes["pdflatex-4-pages.pdf"], 2, width_px=600)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == 600
    assert image.height == pytest.approx(600 * 841.89 / 595.276, abs=1)


def test_render_uses_displayed_orientation():
    pdf = build_pdf([PageSpec(400, 600, rotate=90, crop=(0, 0, 400, 500))])

    image = Image.open(io.BytesIO(render_page_png(pdf, 1, width_px=500)))

    assert image.size == (500, 400)


def test_render_missing_page_rejected(sample_bytes):
    with pytest.raises(ValidationError) as error:
        render_page_png(sample_bytes["minimal-document.pdf"], 2)

    assert error.value.errors[0][0] == "page"


@pytest.mark.parametrize("width", [0, 4001])
def test_render_width_out_of_range_rejected(sample_bytes, width):
    with pytest.raises(ValidationError) as error:
        render_page_png(sample_bytes["minimal-document.pdf"], 1, width_px=width)

    assert error.value.errors[0][0] == "width_px"


def test_render_garbage_rejected():
    with pytest.raises(ValidationError) as error:
        render_page_png(b"%PDF-1.7 nothing else", 1)

    assert error.value.errors[0][0] == "file"


def test_concurrent_renders_match(sample_bytes):
    pdf = sample_bytes["pdflatex-4-pages.pdf"]
    expected = [render_page_png(pdf, page, width_px=300) for page in range(1, 5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: render_page_png(pdf, n % 4 + 1, width_px=300), range(16)))

    assert all(png == expected[n % 4] for n, png in enumerate(results))
