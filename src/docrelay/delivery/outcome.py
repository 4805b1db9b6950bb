"""What one delivery attempt came to, as decided at each destination's boundary.

Every destination (Salesforce, web notification, file drop) turns its own
responses and exceptions into an :class:`AttemptOutcome` in exactly one place.
The worker never inspects HTTP statuses or Salesforce error codes itself: it
only acts on :class:`OutcomeKind`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class OutcomeKind(enum.StrEnum):
    """How the worker proceeds after an attempt."""

    DELIVERED = "delivered"
    """The destination accepted the delivery."""

    RETRY = "retry"
    """A passing failure: try again on the retry schedule (or at ``retry_not_before``)."""

    PAUSE = "pause"
    """The credential was rejected: park every delivery that uses it, spend no attempts."""

    FAIL = "fail"
    """A permanent failure: retrying cannot help; a person must fix the cause and resend."""


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """The classified result of one attempt, with what the attempt log records."""

    kind: OutcomeKind
    error_class: str | None = None
    """Short machine name of the failure, e.g. ``http_503``, ``timeout``, ``INVALID_FIELD``."""
    message: str | None = None
    """Human-readable explanation, kept verbatim from the destination where it gave one."""
    response_status: int | None = None
    response_excerpt: str | None = None
    """The first 2 KB of the response body."""
    request_summary: str | None = None
    """Method, URL and headers with secrets masked."""
    retry_not_before: dt.datetime | None = None
    """Earliest retry time the destination asked for (Retry-After, API usage window)."""
    disable_design: bool = False
    """The destination responded that it is gone for good (HTTP 410)."""
    result: dict[str, object] | None = None
    """Destination-specific facts to keep, e.g. Salesforce record ids."""

    @property
    def delivered(self) -> bool:
        return self.kind is OutcomeKind.DELIVERED


RESPONSE_EXCERPT_BYTES = 2048


def excerpt(body: bytes | str | None) -> str | None:
    """Return the first 2 KB of a response body as text."""
    if body is None:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    return body[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")
