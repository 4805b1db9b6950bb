"""File download responses with a safe ``Content-Disposition`` header."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from fastapi import Response

_UNSAFE_IN_QUOTES = '"\\'


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """Build the header with an ASCII fallback name and an RFC 6266 ``filename*`` (UTF-8).

    Control characters (line breaks included) are dropped, so a stored name can
    never split the header. Characters outside ASCII are transliterated where
    possible for the fallback and kept exactly in ``filename*``.
    """
    cleaned = "".join(char for char in filename if unicodedata.category(char)[0] != "C").strip()
    cleaned = cleaned.replace("/", "_").replace("\\", "_") or "download"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    ascii_stem = _ascii(stem) or "download"
    ascii_extension = _ascii(extension)
    ascii_name = f"{ascii_stem}.{ascii_extension}" if ascii_extension else ascii_stem
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join("_" if char in _UNSAFE_IN_QUOTES else char for char in folded).strip()


def pdf_response(data: bytes, filename: str) -> Response:
    return Response(
        content=data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
