"""Cursor pagination over (timestamp, id) orderings.

A cursor is an opaque base64url string holding the sort timestamp and id of
the last row of a page. The next page starts strictly after that pair, so rows
inserted or updated while a client pages through a list are neither skipped
nor repeated within one ordering.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from docrelay import clock
from docrelay.errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Cursor:
    """The position after which the next page starts."""

    at: dt.datetime
    id: str


def encode_cursor(at: dt.datetime, row_id: str) -> str:
    raw = json.dumps([clock.ensure_utc(at).isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def decode_cursor(value: str | None) -> Cursor | None:
    """Parse a cursor from a query string; raise ValidationError naming ``cursor``."""
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        at_text, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = clock.ensure_utc(dt.datetime.fromisoformat(at_text))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValidationError.for_field(
            "cursor", "is not a cursor returned by this list; start again without it"
        ) from exc
    if not isinstance(row_id, str):
        raise ValidationError.for_field("cursor", "is not a cursor returned by this list")
    return Cursor(at, row_id)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.for_field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def page(items: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Cut one extra fetched row off ``items`` and return (page, next cursor or None).

    Callers fetch ``limit + 1`` rows; ``key(row)`` returns the row's (timestamp, id).
    """
    if len(items) <= limit:
        return items, None
    kept = items[:limit]
    at, row_id = key(kept[-1])
    return kept, encode_cursor(at, row_id)
