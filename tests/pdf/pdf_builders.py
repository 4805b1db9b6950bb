"""PDFs built to order for tests, and where the sample PDFs live."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, FloatObject, NameObject, NumberObject

SAMPLES_DIR = Path(__file__).parents[2] / ".." / "shared" / "samples" / "pdf"
SAMPLE_PDFS = sorted(SAMPLES_DIR.glob("*.pdf"))
FORM_SAMPLES = {"pdflatex-forms.pdf", "libreoffice-form.pdf"}


@dataclass(frozen=True)
class PageSpec:
    """A blank page to build: media size, rotation and crop box in user space."""

    width: float = 400.0
    height: float = 600.0
    rotate: int = 0
    crop: tuple[float, float, float, float] | None = None


def build_pdf(pages: Sequence[PageSpec], *, inherit: bool = False) -> bytes:
    """Write blank pages; with ``inherit``, the first page's attributes move to the page tree.

    Inherited attributes are set on the root ``/Pages`` node and removed from
    every page, so the pages rely on inheritance for their geometry.
    """
    writer = PdfWriter()
    for spec in pages:
        page = writer.add_blank_page(spec.width, spec.height)
        if spec.rotate:
            page[NameObject("/Rotate")] = NumberObject(spec.rotate)
        if spec.crop is not None:
            page[NameObject("/CropBox")] = ArrayObject(FloatObject(v) for v in spec.crop)
    if inherit:
        _move_to_page_tree(writer, pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _move_to_page_tree(writer: PdfWriter, spec: PageSpec) -> None:
    tree = writer.root_object["/Pages"].get_object()
    tree[NameObject("/MediaBox")] = ArrayObject(
        FloatObject(v) for v in (0, 0, spec.width, spec.height)
    )
    tree[NameObject("/Rotate")] = NumberObject(spec.rotate)
    if spec.crop is not None:
        tree[NameObject("/CropBox")] = ArrayObject(FloatObject(v) for v in spec.crop)
    for page in writer.pages:
        for key in ("/MediaBox", "/Rotate", "/CropBox"):
            if key in page:
                del page[key]
