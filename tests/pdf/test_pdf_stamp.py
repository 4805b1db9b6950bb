"""Stamping field values: placement on rotated and cropped pages, text and fonts."""

from __future__ import annotations

import io

import pytest
from pdf_builders import FORM_SAMPLES, PageSpec, build_pdf
from PIL import Image
from pypdf import PdfReader

from docrelay.errors import ValidationError
from docrelay.pdf.render import render_page_png
from docrelay.pdf.signature_image import typed_signature_png
from docrelay.pdf.stamp import FieldPlacement, stamp_fields

DARK = 128


def _render(pdf: bytes) -> Image.Image:
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].cropbox
    rotated = int(reader.pages[0].get("/Rotate", 0)) % 180 == 90
    width = float(box.height if rotated else box.width)
    # One pixel per point, so pixel coordinates equal displayed points.
    png = render_page_png(pdf, 1, width_px=round(width))
    return Image.open(io.BytesIO(png)).convert("L")


def _dark_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    region = image.crop(box).point(lambda value: 255 if value < DARK else 0)
    return region.histogram()[255]


def _placements() -> list[FieldPlacement]:
    return [
        FieldPlacement(1, 20, 30, 40, 40, "checkbox", checked=True),
        FieldPlacement(1, 100, 40, 150, 24, "text", text="WWWW MMMM"),
    ]


PAGE_CASES = [
    PageSpec(400, 600),
    PageSpec(400, 600, rotate=90),
    PageSpec(400, 600, rotate=180),
    PageSpec(400, 600, rotate=270),
    PageSpec(400, 600, crop=(50, 100, 350, 500)),
    PageSpec(400, 600, rotate=90, crop=(30, 60, 390, 580)),
    PageSpec(400, 600, rotate=270, crop=(30, 60, 390, 580)),
]


@pytest.mark.parametrize(
    "spec", PAGE_CASES, ids=lambda s: f"rotate{s.rotate}-{'crop' if s.crop else 'full'}"
)
def test_field_drawn_where_page_shows_it(spec):
    stamped = stamp_fields(build_pdf([spec]), _placements())

    image = _render(stamped)

    assert _dark_pixels(image, (24, 34, 56, 66)) > 20, "check mark missing inside its box"
    assert _dark_pixels(image, (102, 44, 248, 62)) > 20, "text missing inside its box"
    # Far from both fields: the lower half of the displayed page stays blank.
    assert _dark_pixels(image, (0, image.height // 2, image.width, image.height)) == 0


def test_field_drawn_on_inherited_rotation():
    data = build_pdf([PageSpec(400, 600, rotate=90, crop=(30, 60, 390, 580))], inherit=True)

    image = _render(stamp_fields(data, _placements()))

    assert _dark_pixels(image, (24, 34, 56, 66)) > 20
    assert _dark_pixels(image, (0, image.height // 2, image.width, image.height)) == 0


def test_text_upright_on_rotated_page():
    # An upright "L" is taller than wide and has its foot at the bottom. A
    # wrongly rotated overlay would turn it on its side or upside down.
    placement = FieldPlacement(1, 40, 40, 120, 120, "text", text="L")
    pdf = build_pdf([PageSpec(400, 600, rotate=90)])

    image = _render(stamp_fields(pdf, [placement]))
    mask = image.crop((40, 40, 160, 160)).point(lambda v: 255 if v < DARK else 0)
    ink = mask.getbbox()

    assert ink is not None
    left, top, right, bottom = ink
    assert right - left < bottom - top, "a single upright L is taller than wide"
    top_row = mask.crop((left, top, right, top + 1)).histogram()[255]
    bottom_row = mask.crop((left, bottom - 1, right, bottom)).histogram()[255]
    assert bottom_row > top_row, "the foot of the L is at the bottom"


def test_signature_image_fitted_inside_rectangle():
    png = typed_signature_png("Jane Doe")
    placement = FieldPlacement(1, 50, 50, 200, 40, "signature", image_png=png)

    image = _render(stamp_fields(build_pdf([PageSpec(400, 600, rotate=270)]), [placement]))
    ink = image.point(lambda v: 255 if v < 200 else 0).getbbox()

    assert ink is not None
    left, top, right, bottom = ink
    assert left >= 49
    assert top >= 49
    assert right <= 251
    assert bottom <= 91


def test_signature_from_typed_name_without_image():
    placement = FieldPlacement(1, 50, 50, 200, 40, "initials", text="JD")

    image = _render(stamp_fields(build_pdf([PageSpec()]), [placement]))

    assert _dark_pixels(image, (50, 50, 250, 90)) > 0


def test_signature_without_image_or_name_rejected():
    placement = FieldPlacement(1, 50, 50, 200, 40, "signature")

    with pytest.raises(ValidationError) as error:
        stamp_fields(build_pdf([PageSpec()]), [placement])

    assert error.value.errors[0][0] == "placements"


def test_unchecked_checkbox_draws_nothing():
    placement = FieldPlacement(1, 20, 30, 40, 40, "checkbox", checked=False)

    image = _render(stamp_fields(build_pdf([PageSpec()]), [placement]))

    assert _dark_pixels(image, (0, 0, image.width, image.height)) == 0


MULTI_SCRIPT = {
    "latin": "Grüße François",
    "greek": "Καλημέρα",
    "cyrillic": "Здравствуйте",
    "hebrew": "שלום",
    "arabic": "مرحبا",
    "cjk": "你好世界",
    "japanese": "こんにちは",
    "korean": "안녕하세요",
}


def test_multi_script_text_extractable():
    placements = [
        FieldPlacement(1, 20, 20 + 30 * index, 300, 24, "text", text=text)
        for index, text in enumerate(MULTI_SCRIPT.values())
    ]

    stamped = stamp_fields(build_pdf([PageSpec()]), placements)
    extracted = PdfReader(io.BytesIO(stamped)).pages[0].extract_text()

    assert MULTI_SCRIPT["latin"] in extracted
    assert MULTI_SCRIPT["greek"] in extracted
    assert MULTI_SCRIPT["cyrillic"] in extracted
    assert MULTI_SCRIPT["cjk"] in extracted
    assert MULTI_SCRIPT["korean"] in extracted


def _stamp_fonts(pdf: bytes) -> list:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = []
    for xobject in page["/Resources"]["/XObject"].values():
        form = xobject.get_object()
        fonts.extend(font.get_object() for font in form["/Resources"]["/Font"].values())
    return fonts


def test_fonts_embedded_as_subsets_with_tounicode():
    placement = FieldPlacement(1, 20, 20, 300, 24, "text", text="Grüße Здравствуйте 你好")

    fonts = _stamp_fonts(stamp_fields(build_pdf([PageSpec()]), [placement]))

    assert len(fonts) >= 2, "Latin/Cyrillic and CJK need two fonts"
    for font in fonts:
        assert "/ToUnicode" in font
        assert "+" in font["/BaseFont"], "a subset's name carries a six-letter tag"
        assert "/FontFile2" in font["/FontDescriptor"]


def test_uncovered_character_replaced():
    # U+13000 (an Egyptian hieroglyph) is in no installed font.
    placement = FieldPlacement(1, 20, 20, 300, 24, "text", text="A\U00013000B")

    stamped = stamp_fields(build_pdf([PageSpec()]), [placement])
    extracted = PdfReader(io.BytesIO(stamped)).pages[0].extract_text()

    assert "A\ufffdB" in extracted


def test_long_text_in_small_field_stays_inside():
    text = "This value is far too long for its field " * 4
    placement = FieldPlacement(1, 20, 20, 80, 14, "text", text=text)

    image = _render(stamp_fields(build_pdf([PageSpec()]), [placement]))

    assert _dark_pixels(image, (20, 20, 100, 34)) > 0
    assert _dark_pixels(image, (101, 0, image.width, image.height)) == 0
    assert _dark_pixels(image, (0, 35, image.width, image.height)) == 0


@pytest.mark.parametrize("name", sorted(FORM_SAMPLES))
def test_acroform_kept_after_stamping(name, sample_bytes):
    before = set(PdfReader(io.BytesIO(sample_bytes[name])).get_fields() or {})

    stamped = stamp_fields(sample_bytes[name], _placements())

    assert set(PdfReader(io.BytesIO(stamped)).get_fields() or {}) == before


def test_existing_page_content_kept(sample_bytes):
    original = PdfReader(io.BytesIO(sample_bytes["pdflatex-4-pages.pdf"]))
    first_words = original.pages[0].extract_text().split()[:5]

    stamped = stamp_fields(sample_bytes["pdflatex-4-pages.pdf"], _placements())
    text = PdfReader(io.BytesIO(stamped)).pages[0].extract_text()

    assert all(word in text for word in first_words)
    assert "WWWW MMMM" in text


INVALID_PLACEMENTS = [
    (FieldPlacement(2, 10, 10, 50, 20, "text", text="x"), "does not exist"),
    (FieldPlacement(0, 10, 10, 50, 20, "text", text="x"), "does not exist"),
    (FieldPlacement(1, 380, 10, 50, 20, "text", text="x"), "outside page 1"),
    (FieldPlacement(1, 10, 10, 50, 20, "radio", text="x"), "unknown"),
]


@pytest.mark.parametrize(("placement", "message"), INVALID_PLACEMENTS)
def test_invalid_placement_rejected(placement, message):
    with pytest.raises(ValidationError) as error:
        stamp_fields(build_pdf([PageSpec()]), [placement])

    field, text = error.value.errors[0]
    assert field == "placements"
    assert message in text


def test_no_placements_returns_equivalent_pdf(sample_bytes):
    stamped = stamp_fields(sample_bytes["minimal-document.pdf"], [])

    assert len(PdfReader(io.BytesIO(stamped)).pages) == 1
