"""Salesforce failures and the one function that decides what each one means.

Every exception the Salesforce destination can meet (a login fault from
simple-salesforce, an error response from the REST API, a timeout) passes
through :func:`classify`, which returns the
:class:`~docrelay.delivery.outcome.AttemptOutcome` the worker acts on:

- ``PAUSE``: the credential was rejected; no retry can succeed until an admin
  changes it.
- ``RETRY``: Salesforce or the network failed passingly (lock conflicts,
  maintenance, 5xx, timeouts, the API allocation).
- ``FAIL``: the data or the mapping is wrong; Salesforce's message is kept so
  the admin can fix the cause and resend.

Codes not in the tables fall back on the HTTP status: 401 pauses, 408, 425,
429 and 5xx retry, other 4xx fail.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from docrelay import clock
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind, excerpt
from docrelay.salesforce.credential import CredentialMissing

PAUSE_CODES = frozenset(
    {
        # SOAP login faults
        "INVALID_LOGIN",
        "PASSWORD_LOCKOUT",
        "LOGIN_MUST_USE_SECURITY_TOKEN",
        "API_DISABLED_FOR_ORG",
        "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
        "LOGIN_DURING_RESTRICTED_TIME",
        "LOGIN_DURING_RESTRICTED_DOMAIN",
        "ORG_LOCKED",
        "TRIAL_EXPIRED",
        "INSUFFICIENT_ACCESS",
        # OAuth token endpoint errors
        "invalid_grant",
        "invalid_client",
        "invalid_client_id",
        "invalid_client_credentials",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_request",
        "INVALID AUTH",
        # a session that a fresh login does not cure
        "INVALID_SESSION_ID",
        "INVALID_AUTH_HEADER",
        "credential_missing",
    }
)
"""Codes that mean the credential (or the org's acceptance of it) is the problem."""

RETRY_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "UNKNOWN_EXCEPTION",
        "LOGIN_RATE_EXCEEDED",
        "timeout",
        "connection_error",
    }
)
"""Codes that a later attempt can get past."""

FAIL_CODES = frozenset(
    {
        "INVALID_FIELD",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "ENTITY_IS_DELETED",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "MALFORMED_QUERY",
        "MALFORMED_ID",
        "NOT_FOUND",
        "DUPLICATE_VALUE",
        "DUPLICATES_DETECTED",
        "INVALID_TYPE",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "FIELD_INTEGRITY_EXCEPTION",
        "JSON_PARSER_ERROR",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "PROCESSING_HALTED",
        "UNSUPPORTED_API_VERSION",
        "MULTIPLE_CHOICES",
        "file_too_large",
        "no_completed_pdf",
        "mapping_invalid",
    }
)
"""Codes that mean the data, the mapping or the org's schema must change first."""

_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class SalesforceApiError(Exception):
    """An error response from the Salesforce REST API (or a failure DocRelay detected itself)."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        body: str | None = None,
        request: str | None = None,
    ):
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.request = request
        super().__init__(f"{code}: {message}")

    @classmethod
    def from_response(
        cls, response: requests.Response, request: str | None = None
    ) -> SalesforceApiError:
        """Read the first error of Salesforce's error array (``errorCode`` or ``statusCode``)."""
        code, message = f"HTTP_{response.status_code}", response.reason or "error"
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        first = (
            payload[0]
            if isinstance(payload, list) and payload and isinstance(payload[0], dict)
            else payload
        )
        if isinstance(first, dict):
            code = str(
                first.get("errorCode") or first.get("statusCode") or first.get("error") or code
            )
            message = str(first.get("message") or first.get("error_description") or message)
        if response.status_code == 300:
            code, message = (
                "MULTIPLE_CHOICES",
                "Several records match the external id; make the field unique",
            )
        return cls(response.status_code, code, message, response.text, request)


def classify(exc: BaseException, now: dt.datetime | None = None) -> AttemptOutcome:
    """Map any exception of a Salesforce attempt to the outcome the worker acts on."""
    now = now or clock.now()
    if isinstance(exc, CredentialMissing):
        return AttemptOutcome(OutcomeKind.PAUSE, error_class="credential_missing", message=str(exc))
    if isinstance(exc, SalesforceAuthenticationFailed):
        return classify_code(str(exc.code), exc.message, None, None, now)
    if isinstance(exc, SalesforceApiError):
        return classify_code(exc.code, exc.message, exc.status, exc.body, now, exc.request)
    if isinstance(exc, SalesforceError):
        code, message = _salesforce_error_code(exc)
        return classify_code(code, message, exc.status, None, now)
    if isinstance(exc, requests.Timeout):
        return AttemptOutcome(
            OutcomeKind.RETRY,
            error_class="timeout",
            message=f"Salesforce request timed out: {exc}",
        )
    if isinstance(exc, requests.ConnectionError):
        return AttemptOutcome(
            OutcomeKind.RETRY,
            error_class="connection_error",
            message=f"Could not reach Salesforce: {exc}",
        )
    return AttemptOutcome(
        OutcomeKind.RETRY, error_class="internal_error", message=f"{type(exc).__name__}: {exc}"
    )


def classify_code(
    code: str,
    message: str,
    status: int | None,
    body: str | None,
    now: dt.datetime,
    request: str | None = None,
) -> AttemptOutcome:
    """Classify one Salesforce error code (with its HTTP status, when there was a response)."""
    details: dict[str, Any] = {
        "error_class": code,
        "message": message,
        "response_status": status,
        "response_excerpt": excerpt(body),
        "request_summary": request,
    }
    if code.isdigit():
        # simple-salesforce reports a non-XML login failure with the HTTP status as its code.
        status = int(code)
    if code == "REQUEST_LIMIT_EXCEEDED" and "concurrent" not in message.lower():
        # The daily allocation is a rolling 24 h window, so a retry within the same hour would fail again.
        next_hour = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        return AttemptOutcome(OutcomeKind.RETRY, retry_not_before=next_hour, **details)
    if code in PAUSE_CODES:
        return AttemptOutcome(OutcomeKind.PAUSE, **details)
    if code in RETRY_CODES:
        return AttemptOutcome(OutcomeKind.RETRY, **details)
    if code in FAIL_CODES:
        return AttemptOutcome(OutcomeKind.FAIL, **details)
    if status is not None and (status in _RETRYABLE_STATUSES or status >= 500):
        return AttemptOutcome(OutcomeKind.RETRY, **details)
    if status == 401:
        return AttemptOutcome(OutcomeKind.PAUSE, **details)
    if status is None and "rate exceeded" in message.lower():
        return AttemptOutcome(OutcomeKind.RETRY, **details)
    return AttemptOutcome(OutcomeKind.FAIL, **details)


def _salesforce_error_code(exc: SalesforceError) -> tuple[str, str]:
    content = exc.content
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except ValueError:
            return f"HTTP_{exc.status}", str(content)[:500]
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return str(first.get("errorCode", f"HTTP_{exc.status}")), str(first.get("message", ""))
    return f"HTTP_{exc.status}", str(content)[:500]
