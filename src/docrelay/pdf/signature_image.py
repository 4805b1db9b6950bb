"""Signature images: typed names rendered as pictures, and checks on drawn ones."""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

from bidi import get_display
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from docrelay.errors import ValidationError
from docrelay.pdf.fonts import regular_chain
from docrelay.pdf.text_layout import prepare

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 1024 * 1024
MIN_WIDTH, MIN_HEIGHT = 20, 10
MAX_WIDTH, MAX_HEIGHT = 4000, 2000
MAX_ASPECT_RATIO = 20.0
MAX_NAME_LENGTH = 200

_INK = (16, 32, 96, 255)
_TYPED_SIZE = 96
_SLANT = 0.25


def typed_signature_png(name: str) -> bytes:
    """Render a typed name as a slanted, ink-coloured PNG on a transparent background."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError.for_field("name", "is empty; type the signer's name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError.for_field(
            "name", f"is longer than {MAX_NAME_LENGTH} characters; shorten it"
        )

    chain = regular_chain()
    text = _visual_order(prepare(name, chain))
    runs = [(_pillow_font(chain.path_of(run.font)), run.text) for run in chain.runs(text)]
    widths = [font.getlength(piece) for font, piece in runs]

    margin = _TYPED_SIZE // 2
    slant_room = int(_TYPED_SIZE * 1.3 * _SLANT)
    width = int(sum(widths)) + 2 * margin + slant_room
    height = int(_TYPED_SIZE * 1.6)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    baseline = int(_TYPED_SIZE * 1.15)
    cursor = float(margin)
    for (font, piece), piece_width in zip(runs, widths, strict=True):
        draw.text((cursor, baseline), piece, font=font, fill=_INK, anchor="ls")
        cursor += piece_width
    underline_y = baseline + _TYPED_SIZE // 8
    draw.line((margin, underline_y, cursor, underline_y), fill=_INK, width=3)

    # Shear to the right so the name looks handwritten; Pillow's affine
    # transform maps output pixels back to input pixels.
    sheared = image.transform(
        image.size,
        Image.Transform.AFFINE,
        (1, _SLANT, -_SLANT * height, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
    )
    return _encode(sheared)


@functools.cache
def _pillow_font(path: Path) -> ImageFont.FreeTypeFont:
    # Text arrives shaped and in visual order, so Pillow must not reorder it
    # again, which its Raqm layout engine would do.
    return ImageFont.truetype(str(path), _TYPED_SIZE, layout_engine=ImageFont.Layout.BASIC)


def _visual_order(text: str) -> str:
    return str(get_display(text))


def validate_signature_png(data: bytes) -> bytes:
    """Check a drawn signature and return it re-encoded as a clean RGBA PNG.

    Raises ``ValidationError`` on field ``signature_image`` when the data is
    not a PNG, is over 1 MiB, has dimensions outside 20x10 to 4000x2000
    pixels or an aspect ratio over 20:1, or has no visible stroke.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise _invalid("is not a PNG image; send the signature as image/png")
    if len(data) > MAX_PNG_BYTES:
        raise _invalid(f"is {len(data)} bytes; the maximum is {MAX_PNG_BYTES} bytes")

    image = _open_png(data)
    width, height = image.size
    if not (MIN_WIDTH <= width <= MAX_WIDTH and MIN_HEIGHT <= height <= MAX_HEIGHT):
        raise _invalid(
            f"is {width}x{height} pixels; it must be between {MIN_WIDTH}x{MIN_HEIGHT} "
            f"and {MAX_WIDTH}x{MAX_HEIGHT}"
        )
    if max(width / height, height / width) > MAX_ASPECT_RATIO:
        raise _invalid(f"is {width}x{height} pixels, too narrow to be a signature")

    rgba = image.convert("RGBA")
    if not _has_ink(rgba):
        raise _invalid("is blank; draw the signature before submitting")
    return _encode(rgba)


def _open_png(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns (and the test suite turns warnings into errors)
            # before raising for oversized images; the size check follows.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != "PNG":
                    raise _invalid("is not a PNG image; send the signature as image/png")
                if probe.width > MAX_WIDTH or probe.height > MAX_HEIGHT:
                    raise _invalid(
                        f"is {probe.width}x{probe.height} pixels; the maximum is "
                        f"{MAX_WIDTH}x{MAX_HEIGHT}"
                    )
                probe.load()
                return probe.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _invalid(f"could not be read as a PNG image ({error})") from error
    except Image.DecompressionBombError as error:
        raise _invalid("is too large once decompressed") from error


def _has_ink(image: Image.Image) -> bool:
    # A stroke is any pixel that is both visible and darker than near-white.
    alpha = image.getchannel("A")
    luminance = image.convert("L")
    visible = alpha.point(lambda value: 255 if value > 32 else 0)
    dark = luminance.point(lambda value: 255 if value < 224 else 0)
    strokes = Image.composite(dark, Image.new("L", image.size, 0), visible)
    return strokes.getbbox() is not None


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _invalid(message: str) -> ValidationError:
    return ValidationError.for_field("signature_image", message)
