"""Deciding what one web-notification attempt means for its delivery.

This is the one place where HTTP statuses, network failures and response
check verdicts become an :class:`AttemptOutcome`:

==========================================  =========================================
what happened                               outcome
==========================================  =========================================
connection error, DNS failure, timeout      RETRY
408, 425, 429, 500, 502, 503, 504           RETRY (at Retry-After, capped at 24 h)
other 5xx except 501 and 505                RETRY
401 or 403 on a design with authentication  PAUSE: the credential was rejected
410                                         FAIL and disable the design
3xx                                         FAIL: redirects are not followed
other 4xx, 501, 505, unexpected statuses    FAIL
2xx with a failed response check            FAIL
2xx with every check passing                DELIVERED
destination refused by the egress rules     FAIL
invalid URL or method                       FAIL
==========================================  =========================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind, excerpt
from docrelay.webhooks.checks import CheckVerdict

if TYPE_CHECKING:
    from docrelay.webhooks.sender import WebhookRequest

MAX_BODY_BYTES = 25 * 1024 * 1024
"""Largest rendered request body sent; larger documents belong in a file transmission."""

RETRY_AFTER_CAP = dt.timedelta(hours=24)
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
PERMANENT_SERVER_STATUSES = frozenset({501, 505})
_RETRYABLE_FAILURES = frozenset({"timeout", "connection_error", "dns_error"})

_SENSITIVE_HEADER = re.compile(
    r"authorization|cookie|secret|token|password|signature|api-?key", re.I
)
_SENSITIVE_QUERY = re.compile(
    r"([?&](?:[^=&#]*(?:token|secret|password|key|sig|auth)[^=&#]*)=)[^&#]*", re.I
)


@dataclasses.dataclass(frozen=True, slots=True)
class HttpResult:
    """The outcome of one HTTP exchange: a response, or the failure that prevented one."""

    request: WebhookRequest | None = None
    status: int | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    body_truncated: bool = False
    failure: str | None = None
    """``timeout``, ``connection_error``, ``dns_error``, ``egress_refused``, ``invalid_url``,
    ``invalid_method`` or ``error``; None when a response arrived."""
    error_class: str | None = None
    """Class name of the exception behind the failure, e.g. ``ClientConnectorError``."""
    error_message: str | None = None
    duration_ms: int | None = None

    def header(self, name: str) -> str | None:
        """Return a response header by case-insensitive name."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def check_body_size(body: bytes) -> AttemptOutcome | None:
    """Return a permanent failure if a rendered body is too large to send, else None."""
    if len(body) <= MAX_BODY_BYTES:
        return None
    return AttemptOutcome(
        kind=OutcomeKind.FAIL,
        error_class="body_too_large",
        message=(
            f"the rendered body has {len(body)} bytes, more than the limit of {MAX_BODY_BYTES}; "
            "send large documents with an SFTP or FTPS transmission instead"
        ),
    )


def summarize_request(request: WebhookRequest) -> str:
    """Describe a request for the attempt log, with credentials and signatures masked."""
    url = _SENSITIVE_QUERY.sub(r"\1***", request.url)
    lines = [f"{request.method} {url}"]
    for name, value in request.headers.items():
        lines.append(f"{name}: {_mask_header(name, value)}")
    lines.append(f"({len(request.body)} body bytes)")
    return "\n".join(lines)


def _mask_header(name: str, value: str) -> str:
    if not _SENSITIVE_HEADER.search(name):
        return value
    scheme, _, credentials = value.partition(" ")
    if name.lower() == "authorization" and credentials:
        return f"{scheme} ***"
    return "***"


def classify(
    result: HttpResult,
    checks_verdicts: Sequence[CheckVerdict],
    *,
    design_has_auth: bool,
    now: dt.datetime,
) -> AttemptOutcome:
    """Turn one exchange and its check verdicts into the outcome the worker acts on."""
    if result.status is None:
        return _classify_failure(result)

    status = result.status
    if 200 <= status < 300:
        return _classify_checks(result, status, checks_verdicts)
    if status in RETRYABLE_STATUSES or (
        500 <= status < 600 and status not in PERMANENT_SERVER_STATUSES
    ):
        return _outcome(
            result,
            OutcomeKind.RETRY,
            error_class=f"http_{status}",
            message=f"the receiver responded with {status}; the delivery will be retried",
            retry_not_before=retry_after(result.header("Retry-After"), now),
        )
    return _classify_refusal(result, status, design_has_auth)


def _outcome(
    result: HttpResult,
    kind: OutcomeKind,
    *,
    error_class: str | None = None,
    message: str | None = None,
    retry_not_before: dt.datetime | None = None,
    disable_design: bool = False,
) -> AttemptOutcome:
    return AttemptOutcome(
        kind=kind,
        error_class=error_class,
        message=message,
        response_status=result.status,
        response_excerpt=excerpt(result.body) if result.status is not None else None,
        request_summary=summarize_request(result.request) if result.request else None,
        retry_not_before=retry_not_before,
        disable_design=disable_design,
    )


def _classify_failure(result: HttpResult) -> AttemptOutcome:
    failure = result.failure or "error"
    detail = f"{result.error_class}: {result.error_message}"
    kind = OutcomeKind.RETRY if failure in _RETRYABLE_FAILURES else OutcomeKind.FAIL
    return _outcome(result, kind, error_class=failure, message=detail)


def _classify_checks(
    result: HttpResult, status: int, verdicts: Sequence[CheckVerdict]
) -> AttemptOutcome:
    failed = [verdict for verdict in verdicts if not verdict.passed]
    if not failed:
        return _outcome(result, OutcomeKind.DELIVERED)
    return _outcome(
        result,
        OutcomeKind.FAIL,
        error_class="response_check_failed",
        message=f"the receiver responded with {status}, but "
        + "; ".join(v.message for v in failed),
    )


def _classify_refusal(result: HttpResult, status: int, design_has_auth: bool) -> AttemptOutcome:
    kind = OutcomeKind.FAIL
    disable = False
    if status in (401, 403) and design_has_auth:
        kind = OutcomeKind.PAUSE
        message = f"the receiver rejected the credential ({status}); update it to resume"
    elif status == 410:
        disable = True
        message = "the receiver responded with 410 Gone, so the design is disabled"
    elif 300 <= status < 400:
        location = result.header("Location")
        target = f" to {location}" if location else ""
        message = f"the receiver responded with {status}{target}; redirects are not followed, so fix the URL"
    else:
        message = (
            f"the receiver responded with {status}; fix the request or the receiver, then resend"
        )
    return _outcome(
        result, kind, error_class=f"http_{status}", message=message, disable_design=disable
    )


def retry_after(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """Parse a ``Retry-After`` header (seconds or HTTP date) into a time at most 24 h ahead."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value))
    else:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        wait = moment - now
    if wait <= dt.timedelta(0):
        return None
    return now + min(wait, RETRY_AFTER_CAP)
