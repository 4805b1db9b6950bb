"""Validation and normalisation of template PDFs at upload.

An uploaded file is checked for size, header, truncation, encryption,
existing signatures, page count and page geometry. It is then rewritten
once by pypdf, so later steps start from a clean single-revision file.
Last, it goes through a trial completion (a stamped mark, appended pages and
a seal by a throwaway identity), so a file that cannot be sealed is rejected
before any signer opens it. Every rejection is a ``ValidationError`` on field ``file``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
from dataclasses import dataclass

import pypdfium2
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from docrelay.errors import ValidationError
from docrelay.pdf import render
from docrelay.pdf.audit import AuditTrail, build_audit_trail
from docrelay.pdf.geometry import PageGeometry, page_geometry
from docrelay.pdf.seal import SealingError, SealingIdentity, generate_self_signed_identity, seal_pdf
from docrelay.pdf.stamp import FieldPlacement, stamp_writer

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PAGES = 500
# The PDF specification allows the header anywhere in the first 1024 bytes
# and viewers look for the end-of-file marker near the end.
_HEADER_WINDOW = 1024
_TRAILER_WINDOW = 2048


@dataclass(frozen=True)
class SourceInfo:
    """An accepted template PDF, normalised, with its page geometry."""

    page_count: int
    pages: list[PageGeometry]
    normalised: bytes
    sha256: str
    acroform_field_names: list[str]


def inspect_source(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pages: int = DEFAULT_MAX_PAGES
) -> SourceInfo:
    """Validate an uploaded template PDF and return it normalised.

    Raises ``ValidationError`` on field ``file`` when the data is not a PDF,
    is larger than ``max_bytes``, or is truncated or unreadable. The same
    happens when it is encrypted (with a user or only an owner password),
    already signed or certified, longer than ``max_pages`` pages, or cannot
    be sealed.
    """
    _check_envelope(data, max_bytes)
    reader = _open(data)
    _reject_encrypted(reader)
    _reject_signed(reader)

    count = _page_count(reader)
    if count > max_pages:
        raise _invalid(f"has {count} pages; the maximum is {max_pages}")
    pages = _geometries(reader, count)
    field_names = _field_names(reader)

    normalised = _normalise(reader)
    _check_renderable(normalised, count)
    _check_sealable(normalised, pages[0])

    logger.info(
        "Accepted template PDF with %d pages",
        count,
        extra={"action": "pdf_source_accepted", "pages": count, "bytes": len(normalised)},
    )
    return SourceInfo(
        page_count=count,
        pages=pages,
        normalised=normalised,
        sha256=hashlib.sha256(normalised).hexdigest(),
        acroform_field_names=field_names,
    )


def _invalid(reason: str) -> ValidationError:
    return ValidationError.for_field("file", reason)


def _check_envelope(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise _invalid(f"is {len(data)} bytes; the maximum is {max_bytes} bytes")
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise _invalid("is not a PDF: the %PDF- header is missing")
    if b"%%EOF" not in data[-_TRAILER_WINDOW:]:
        raise _invalid("is truncated or damaged: the end-of-file marker %%EOF is missing")


def _open(data: bytes) -> PdfReader:
    try:
        return PdfReader(io.BytesIO(data), strict=False)
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
        raise _invalid(f"is unreadable or damaged ({error}); export it again as PDF") from error


def _reject_encrypted(reader: PdfReader) -> None:
    # Owner-password-only files open without a password but restrict
    # editing, and rewriting them would drop that protection, so they are
    # rejected like any other encrypted file.
    if reader.is_encrypted:
        raise _invalid("is encrypted; remove the password protection and upload it again")


def _reject_signed(reader: PdfReader) -> None:
    try:
        permissions = reader.root_object.get("/Perms")
        if permissions is not None and permissions.get_object():
            raise _invalid(
                "is certified or carries usage-rights signatures; upload the unsigned original"
            )
        for field in (reader.get_fields() or {}).values():
            if field.get("/FT") == "/Sig" and field.get("/V") is not None:
                raise _invalid("is already signed; upload the unsigned original")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise _invalid(f"has an unreadable form or catalog ({error})") from error


def _page_count(reader: PdfReader) -> int:
    try:
        count = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise _invalid(f"has an unreadable page tree ({error})") from error
    if count == 0:
        raise _invalid("has no pages")
    return count


def _geometries(reader: PdfReader, count: int) -> list[PageGeometry]:
    pages = []
    for index in range(count):
        try:
            pages.append(page_geometry(reader.pages[index], index + 1))
        except ValueError as error:
            raise _invalid(f"has an invalid page: {error}") from error
        except (PyPdfError, KeyError, TypeError, AttributeError) as error:
            raise _invalid(f"page {index + 1} is unreadable ({error})") from error
    return pages


def _field_names(reader: PdfReader) -> list[str]:
    try:
        return list((reader.get_fields() or {}).keys())
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise _invalid(f"has an unreadable form ({error})") from error


def _normalise(reader: PdfReader) -> bytes:
    try:
        writer = PdfWriter(clone_from=reader)
        buffer = io.BytesIO()
        writer.write(buffer)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise _invalid(f"could not be rewritten ({error}); export it again as PDF") from error
    return buffer.getvalue()


def _check_renderable(normalised: bytes, count: int) -> None:
    # Signers see page images, so PDFium must open the file as well.
    try:
        rendered_count = render.page_count(normalised)
    except ValidationError as error:
        raise _invalid(f"cannot be displayed ({error.message})") from error
    except pypdfium2.PdfiumError as error:
        raise _invalid(f"cannot be displayed ({error})") from error
    if rendered_count != count:
        raise _invalid(f"is inconsistent: {count} pages were read but {rendered_count} display")


@functools.cache
def _test_identity() -> SealingIdentity:
    return generate_self_signed_identity("DocRelay upload test seal")


@functools.cache
def _test_audit_pages() -> bytes:
    trail = AuditTrail("upload-check", "Upload check", "Upload check", 1, "DocRelay", "0" * 64)
    return build_audit_trail(trail)


def _check_sealable(normalised: bytes, first_page: PageGeometry) -> None:
    # A trial run of the completion steps: stamp a mark on page 1, then seal
    # with appended pages, as a completed document will be.
    mark = FieldPlacement(
        1, 0, 0, min(10.0, first_page.width), min(10.0, first_page.height), "checkbox", checked=True
    )
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(normalised)))
        stamp_writer(writer, [mark])
        buffer = io.BytesIO()
        writer.write(buffer)
        seal_pdf(
            buffer.getvalue(),
            _test_identity(),
            reason="Upload test seal",
            appended_pages=_test_audit_pages(),
        )
    except SealingError as error:
        raise _invalid(f"cannot be sealed ({error})") from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise _invalid(f"cannot be stamped ({error}); export it again as PDF") from error
