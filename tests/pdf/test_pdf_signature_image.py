"""Typed signature images and checks on drawn ones."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from docrelay.errors import ValidationError
from docrelay.pdf.signature_image import (
    MAX_PNG_BYTES,
    PNG_SIGNATURE,
    typed_signature_png,
    validate_signature_png,
)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _stroke(width: int = 300, height: int = 100) -> Image.Image:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    for x in range(10, width - 10):
        image.putpixel((x, height // 2), (0, 0, 0, 255))
    return image


@pytest.mark.parametrize("name", ["Jane Doe", "Иван Петров", "محمد علي", "王小明", "דוד לוי"])
def test_typed_signature_is_transparent_png(name):
    data = typed_signature_png(name)

    image = Image.open(io.BytesIO(data))
    assert data.startswith(PNG_SIGNATURE)
    assert image.format == "PNG"
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0, "the background is transparent"
    assert image.getchannel("A").getbbox() is not None, "the name is drawn"
    assert validate_signature_png(data).startswith(PNG_SIGNATURE)


def test_typed_signature_grows_with_name():
    short = Image.open(io.BytesIO(typed_signature_png("Al")))
    long = Image.open(io.BytesIO(typed_signature_png("Alexandra Montgomery-Smith")))

    assert long.width > short.width
    assert long.height == short.height


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_typed_signature_bad_name_rejected(name):
    with pytest.raises(ValidationError) as error:
        typed_signature_png(name)

    assert error.value.errors[0][0] == "name"


def test_drawn_signature_reencoded():
    data = _png(_stroke().convert("RGB").convert("RGBA"))

    cleaned = validate_signature_png(data)

    assert Image.open(io.BytesIO(cleaned)).size == (300, 100)
    assert Image.open(io.BytesIO(cleaned)).mode == "RGBA"


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    _stroke().convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


INVALID_IMAGES = [
    (b"", "not a PNG"),
    (b"GIF89a" + b"\x00" * 100, "not a PNG"),
    (_jpeg(), "not a PNG"),
    (PNG_SIGNATURE + b"\x00" * 100, "could not be read"),
    (PNG_SIGNATURE + b"\x00" * (MAX_PNG_BYTES + 1), "maximum is"),
    (_png(_stroke(10, 5)), "between"),
    (_png(_stroke(4001, 100)), "maximum is 4000x2000"),
    (_png(_stroke(2000, 50)), "too narrow"),
    (_png(Image.new("RGBA", (300, 100), (0, 0, 0, 0))), "blank"),
    (_png(Image.new("RGB", (300, 100), (255, 255, 255))), "blank"),
]


@pytest.mark.parametrize(("data", "message"), INVALID_IMAGES)
def test_invalid_signature_rejected(data, message):
    with pytest.raises(ValidationError) as error:
        validate_signature_png(data)

    field, text = error.value.errors[0]
    assert field == "signature_image"
    assert message in text
