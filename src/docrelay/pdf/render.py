"""Page images for the signing pages, rendered with PDFium.

pypdfium2 is not thread-safe: PDFium keeps global state, so every call into
it in this process goes through one lock.
"""

from __future__ import annotations

import io
import threading

import pypdfium2

from docrelay.errors import ValidationError

MAX_WIDTH_PX = 4000
_pdfium_lock = threading.Lock()


def page_count(pdf: bytes) -> int:
    """Count the pages of a PDF."""
    with _pdfium_lock:
        document = _open(pdf)
        try:
            return len(document)
        finally:
            document.close()


def render_page_png(pdf: bytes, page_number: int, *, width_px: int = 1000) -> bytes:
    """Render one page (1-based) as it is displayed, ``width_px`` pixels wide, as a PNG.

    Annotations and form field appearances are drawn too.
    """
    if not 1 <= width_px <= MAX_WIDTH_PX:
        raise ValidationError.for_field(
            "width_px", f"is {width_px}; use a width from 1 to {MAX_WIDTH_PX} pixels"
        )
    with _pdfium_lock:
        document = _open(pdf)
        try:
            # Form fields are drawn only when the form environment is set up
            # before any page is loaded.
            document.init_forms()
            if not 1 <= page_number <= len(document):
                raise ValidationError.for_field(
                    "page",
                    f"page {page_number} does not exist; the document has {len(document)} pages",
                )
            page = document[page_number - 1]
            try:
                # PDFium reports the displayed size: crop box, then /Rotate.
                scale = width_px / page.get_width()
                bitmap = page.render(scale=scale, draw_annots=True, may_draw_forms=True)
                image = bitmap.to_pil()
            finally:
                page.close()
        finally:
            document.close()

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _open(pdf: bytes) -> pypdfium2.PdfDocument:
    try:
        return pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as error:
        raise ValidationError.for_field(
            "file", f"could not be opened as a PDF ({error})"
        ) from error
