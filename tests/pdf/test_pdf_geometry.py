"""Mapping field rectangles from the displayed page into PDF user space."""

from __future__ import annotations

import io

import pytest
from pdf_builders import PageSpec, build_pdf
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, FloatObject, NameObject, NumberObject

from docrelay.pdf.geometry import (
    FieldRect,
    PageGeometry,
    display_matrix,
    field_fits,
    page_geometry,
    to_user_space,
)


def _geometry(spec: PageSpec) -> PageGeometry:
    reader = PdfReader(io.BytesIO(build_pdf([spec])))
    return page_geometry(reader.pages[0], 1)


# The media box is 400x600. The field is 10 pt from the displayed left edge
# and 20 pt from the displayed top edge, 30 wide and 40 high.
ROTATION_CASES = [
    # rotation, displayed size, expected (left, bottom, right, top) in user space
    (0, (400, 600), (10, 540, 40, 580)),
    # Displayed top-left is user bottom-left; x runs up, y runs right.
    (90, (600, 400), (20, 10, 60, 40)),
    # The page is upside down: displayed top-left is user bottom-right.
    (180, (400, 600), (360, 20, 390, 60)),
    # Displayed top-left is user top-right; x runs down, y runs left.
    (270, (600, 400), (340, 560, 380, 590)),
]


@pytest.mark.parametrize(("rotation", "size", "expected"), ROTATION_CASES)
def test_rotated_page_maps_field(rotation, size, expected):
    geometry = _geometry(PageSpec(400, 600, rotate=rotation))

    assert (geometry.width, geometry.height) == size
    assert geometry.rotation == rotation
    assert to_user_space(geometry, FieldRect(10, 20, 30, 40)) == pytest.approx(expected)


def test_offset_crop_box_maps_field():
    geometry = _geometry(PageSpec(400, 600, crop=(50, 100, 350, 500)))

    assert (geometry.width, geometry.height) == (300, 400)
    assert to_user_space(geometry, FieldRect(10, 20, 30, 40)) == pytest.approx((60, 440, 90, 480))


def test_rotated_offset_crop_box_maps_field():
    geometry = _geometry(PageSpec(400, 600, rotate=90, crop=(50, 100, 350, 500)))

    assert (geometry.width, geometry.height) == (400, 300)
    assert to_user_space(geometry, FieldRect(10, 20, 30, 40)) == pytest.approx((70, 110, 110, 140))


def test_crop_box_clipped_to_media_box():
    geometry = _geometry(PageSpec(400, 600, crop=(-100, -100, 300, 900)))

    assert geometry.crop_box == (0, 0, 300, 600)
    assert (geometry.width, geometry.height) == (300, 600)


def test_negative_rotation_normalised():
    geometry = _geometry(PageSpec(400, 600, rotate=-90))

    assert geometry.rotation == 270


def test_inherited_attributes_resolved_from_page_tree():
    # Checked on the writer's own objects: pypdf's reader copies inherited
    # attributes into each page, which would hide a missing lookup.
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    tree = writer.root_object["/Pages"].get_object()
    tree[NameObject("/MediaBox")] = ArrayObject(FloatObject(v) for v in (0, 0, 400, 600))
    tree[NameObject("/CropBox")] = ArrayObject(FloatObject(v) for v in (50, 100, 350, 500))
    tree[NameObject("/Rotate")] = NumberObject(270)
    page = writer.pages[0]
    del page["/MediaBox"]

    geometry = page_geometry(page, 1)

    assert "/Rotate" not in page
    assert geometry.rotation == 270
    assert geometry.crop_box == (50, 100, 350, 500)
    assert (geometry.width, geometry.height) == (400, 300)


def test_inherited_attributes_survive_reading():
    data = build_pdf([PageSpec(400, 600, rotate=90, crop=(50, 100, 350, 500))], inherit=True)
    reader = PdfReader(io.BytesIO(data))

    geometry = page_geometry(reader.pages[0], 1)

    assert geometry.rotation == 90
    assert (geometry.width, geometry.height) == (400, 300)


def test_rotation_not_multiple_of_90_rejected():
    with pytest.raises(ValueError, match="multiple of 90"):
        _geometry(PageSpec(400, 600, rotate=45))


def test_crop_box_outside_media_box_rejected():
    with pytest.raises(ValueError, match="outside the media box"):
        _geometry(PageSpec(400, 600, crop=(500, 700, 600, 800)))


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_display_matrix_maps_corners_onto_crop_box(rotation):
    geometry = _geometry(PageSpec(400, 600, rotate=rotation, crop=(50, 100, 350, 500)))
    a, b, c, d, e, f = display_matrix(geometry)

    corners = [
        (a * x + c * y + e, b * x + d * y + f)
        for x in (0, geometry.width)
        for y in (0, geometry.height)
    ]

    assert sorted({round(x) for x, _ in corners}) == [50, 350]
    assert sorted({round(y) for _, y in corners}) == [100, 500]


FIT_CASES = [
    (FieldRect(0, 0, 400, 600), True),
    (FieldRect(10, 10, 100, 20), True),
    (FieldRect(300, 10, 100.4, 20), True),  # within the rounding tolerance
    (FieldRect(301, 10, 100, 20), False),  # past the right edge
    (FieldRect(10, 590, 100, 20), False),  # past the bottom edge
    (FieldRect(-5, 10, 100, 20), False),
    (FieldRect(10, 10, 0, 20), False),
    (FieldRect(10, 10, 100, -1), False),
    (FieldRect(float("nan"), 10, 100, 20), False),
]


@pytest.mark.parametrize(("rect", "fits"), FIT_CASES)
def test_field_fits(rect, fits):
    assert field_fits(PageGeometry(1, 400, 600), rect) is fits


def test_field_fits_uses_displayed_size():
    landscape = _geometry(PageSpec(400, 600, rotate=90))

    assert field_fits(landscape, FieldRect(450, 10, 100, 20))
    assert not field_fits(landscape, FieldRect(10, 450, 100, 20))
