"""Stamping field values onto a PDF.

All fields of one page are drawn with reportlab onto an overlay page the
size of the displayed page. The overlay becomes a form XObject whose
``/Matrix`` maps display space to the page's user space (see
:func:`docrelay.pdf.geometry.display_matrix`), so values land where the page
shows their rectangles and read upright on rotated pages. The page's own
content is wrapped in ``q``/``Q`` and left otherwise untouched, and the
document's AcroForm and annotations are kept as they are.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    PdfObject,
)
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from docrelay.errors import ValidationError
from docrelay.pdf import text_layout
from docrelay.pdf.fonts import regular_chain
from docrelay.pdf.geometry import (
    PageGeometry,
    display_matrix,
    field_fits,
    page_geometry,
    to_display_space,
)
from docrelay.pdf.signature_image import typed_signature_png

FIELD_KINDS = frozenset({"signature", "initials", "text", "date_signed", "checkbox", "full_name"})
TEXT_KINDS = frozenset({"text", "date_signed", "full_name"})
IMAGE_KINDS = frozenset({"signature", "initials"})

MAX_TEXT_SIZE = 12.0
MIN_TEXT_SIZE = 6.0
TEXT_PADDING = 2.0
INK = (0.0, 0.0, 0.0)
MAX_IMAGE_DPI = 300


@dataclass(frozen=True)
class FieldPlacement:
    """A value to draw, in points from the top-left corner of the displayed page.

    ``text`` is the value of text, full_name and date_signed fields, already
    formatted by the caller. For signature and initials without
    ``image_png``, it is the name to render as a typed signature.
    """

    page: int
    x: float
    y: float
    width: float
    height: float
    kind: str
    text: str | None = None
    checked: bool | None = None
    image_png: bytes | None = None


def stamp_fields(pdf: bytes, placements: Sequence[FieldPlacement]) -> bytes:
    """Draw every placement onto a copy of ``pdf`` and return the new file."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    stamp_writer(writer, placements)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def stamp_writer(writer: PdfWriter, placements: Sequence[FieldPlacement]) -> None:
    """Draw every placement onto the pages of an open writer, in place.

    Raises ``ValidationError`` on field ``placements`` for an unknown kind,
    a page that does not exist, or a rectangle outside its page.
    """
    by_page: dict[int, list[FieldPlacement]] = defaultdict(list)
    for placement in placements:
        by_page[placement.page].append(placement)
    if not by_page:
        return

    geometries = {number: _checked_geometry(writer, number, by_page[number]) for number in by_page}
    overlay = PdfReader(io.BytesIO(_draw_overlays(geometries, by_page)))
    for index, number in enumerate(sorted(by_page)):
        _attach_overlay(writer, writer.pages[number - 1], overlay.pages[index], geometries[number])


def _checked_geometry(
    writer: PdfWriter, number: int, placements: list[FieldPlacement]
) -> PageGeometry:
    if not 1 <= number <= len(writer.pages):
        raise _invalid(f"page {number} does not exist; the document has {len(writer.pages)} pages")
    geometry = page_geometry(writer.pages[number - 1], number)
    for placement in placements:
        if placement.kind not in FIELD_KINDS:
            raise _invalid(
                f"kind {placement.kind!r} is unknown; use one of {', '.join(sorted(FIELD_KINDS))}"
            )
        if not field_fits(geometry, placement):
            raise _invalid(
                f"the {placement.kind} field at x={placement.x}, y={placement.y} "
                f"({placement.width}x{placement.height}) lies outside page {number}, "
                f"which is {geometry.width:g}x{geometry.height:g} points"
            )
    return geometry


def _invalid(message: str) -> ValidationError:
    return ValidationError.for_field("placements", message)


def _draw_overlays(
    geometries: dict[int, PageGeometry], by_page: dict[int, list[FieldPlacement]]
) -> bytes:
    buffer = io.BytesIO()
    canvas = _canvas(buffer)
    images = _ImageForms(canvas)
    for number in sorted(by_page):
        geometry = geometries[number]
        canvas.setPageSize((geometry.width, geometry.height))
        for placement in by_page[number]:
            _draw_field(canvas, geometry, placement, images)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _canvas(buffer: io.BytesIO) -> Canvas:
    # Without an initial font, reportlab references Helvetica on every page,
    # a font that is neither embedded nor used.
    return Canvas(
        buffer, pageCompression=1, invariant=1, initialFontName=regular_chain().primary.name
    )


def _draw_field(
    canvas: Canvas, geometry: PageGeometry, placement: FieldPlacement, images: _ImageForms
) -> None:
    box = to_display_space(geometry, placement)
    if placement.kind in TEXT_KINDS:
        _draw_text(canvas, box, placement.text)
    elif placement.kind in IMAGE_KINDS:
        images.draw(_signature_png(placement), box)
    elif placement.checked:
        _draw_check_mark(canvas, box)


def _draw_text(canvas: Canvas, box: tuple[float, float, float, float], text: str | None) -> None:
    if not text or not text.strip():
        return
    width, height = box[2], box[3]
    chain = regular_chain()
    inner_width = max(width - 2 * TEXT_PADDING, width / 2)
    max_size = max(1.0, min(MAX_TEXT_SIZE, height * 0.8))
    block = text_layout.fit(
        text,
        inner_width,
        height,
        chain,
        max_size=max_size,
        min_size=min(MIN_TEXT_SIZE, max_size),
    )
    canvas.setFillColorRGB(*INK)
    text_layout.draw_block(canvas, block, box, chain, padding=(width - inner_width) / 2)


def _signature_png(placement: FieldPlacement) -> bytes:
    if placement.image_png:
        return placement.image_png
    if placement.text and placement.text.strip():
        return typed_signature_png(placement.text)
    raise _invalid(
        f"the {placement.kind} field on page {placement.page} has neither an image nor a name"
    )


class _ImageForms:
    """Signature images of one overlay as reportlab forms, keyed by their PNG bytes.

    One signer's signature usually fills several fields, so each distinct
    image is decoded and embedded once and drawn by reference after that.
    """

    def __init__(self, canvas: Canvas) -> None:
        self._canvas = canvas
        self._forms: dict[bytes, tuple[str, int, int]] = {}

    def draw(self, png: bytes, box: tuple[float, float, float, float]) -> None:
        """Draw the image centred in ``box``, as large as fits at its aspect ratio."""
        name, pixel_width, pixel_height = self._form(png, box)
        x, y, width, height = box
        scale = min(width / pixel_width, height / pixel_height)
        drawn_width, drawn_height = pixel_width * scale, pixel_height * scale
        canvas = self._canvas
        canvas.saveState()
        canvas.translate(x + (width - drawn_width) / 2, y + (height - drawn_height) / 2)
        canvas.scale(drawn_width, drawn_height)
        canvas.doForm(name)
        canvas.restoreState()

    def _form(self, png: bytes, box: tuple[float, float, float, float]) -> tuple[str, int, int]:
        found = self._forms.get(png)
        if found is None:
            image = _downscaled(png, box)
            name = f"DocRelayImage{len(self._forms) + 1}"
            # The form is a unit square; each use scales it to its field.
            self._canvas.beginForm(name, 0, 0, 1, 1)
            self._canvas.drawImage(ImageReader(image), 0, 0, 1, 1, mask="auto")
            self._canvas.endForm()
            found = (name, image.width, image.height)
            self._forms[png] = found
        return found


def _downscaled(png: bytes, box: tuple[float, float, float, float]) -> Image.Image:
    with Image.open(io.BytesIO(png)) as source:
        image = source.convert("RGBA")
    # Pixels beyond MAX_IMAGE_DPI at the drawn size only enlarge the file.
    limit_width = max(1, round(box[2] * MAX_IMAGE_DPI / 72))
    limit_height = max(1, round(box[3] * MAX_IMAGE_DPI / 72))
    image.thumbnail((limit_width, limit_height), Image.Resampling.LANCZOS)
    return image


def _draw_check_mark(canvas: Canvas, box: tuple[float, float, float, float]) -> None:
    x, y, width, height = box
    side = min(width, height) * 0.8
    left = x + (width - side) / 2
    bottom = y + (height - side) / 2
    canvas.setStrokeColorRGB(*INK)
    canvas.setLineWidth(max(0.75, side * 0.12))
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    path = canvas.beginPath()
    path.moveTo(left + side * 0.12, bottom + side * 0.52)
    path.lineTo(left + side * 0.4, bottom + side * 0.2)
    path.lineTo(left + side * 0.9, bottom + side * 0.85)
    canvas.drawPath(path, stroke=1, fill=0)


def _attach_overlay(
    writer: PdfWriter,
    page: DictionaryObject,
    overlay_page: DictionaryObject,
    geometry: PageGeometry,
) -> None:
    form = DecodedStreamObject()
    form.set_data(overlay_page.get_contents().get_data())  # type: ignore[attr-defined]
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): _array((0.0, 0.0, geometry.width, geometry.height)),
            NameObject("/Matrix"): _array(display_matrix(geometry)),
            NameObject("/Resources"): overlay_page["/Resources"].clone(writer),
        }
    )
    # pypdf has no public call that registers a new indirect object.
    form_ref = writer._add_object(form.flate_encode())

    resources = _own_resources(page)
    xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    name = _free_name(xobjects, "/DocRelayStamp")
    xobjects[NameObject(name)] = form_ref
    resources[NameObject("/XObject")] = xobjects

    before = writer._add_object(_content(b"q\n"))
    after = writer._add_object(_content(f"\nQ\nq {name} Do Q\n".encode("ascii")))
    existing = _content_refs(writer, page.get("/Contents"))
    page[NameObject("/Contents")] = ArrayObject([before, *existing, after])


def _own_resources(page: DictionaryObject) -> DictionaryObject:
    # Resources may be inherited from the page tree. A copy on the page
    # keeps the stamp's XObject name from leaking into sibling pages.
    node: DictionaryObject | None = page
    inherited: PdfObject | None = None
    while node is not None and inherited is None:
        inherited = node.get("/Resources")
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    resolved = inherited.get_object() if inherited is not None else None
    resources = DictionaryObject(resolved if isinstance(resolved, DictionaryObject) else {})
    page[NameObject("/Resources")] = resources
    return resources


def _free_name(names: DictionaryObject, base: str) -> str:
    candidate, counter = base, 1
    while candidate in names:
        counter += 1
        candidate = f"{base}{counter}"
    return candidate


def _content(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _content_refs(writer: PdfWriter, contents: PdfObject | None) -> list[PdfObject]:
    if contents is None:
        return []
    resolved = contents.get_object()
    if isinstance(resolved, ArrayObject):
        return list(resolved)
    if isinstance(contents, IndirectObject) or resolved is None:
        return [contents]
    # Streams inside an array must be indirect objects.
    return [writer._add_object(resolved)]


def _array(numbers: Sequence[float]) -> ArrayObject:
    return ArrayObject(FloatObject(round(n, 6)) for n in numbers)
