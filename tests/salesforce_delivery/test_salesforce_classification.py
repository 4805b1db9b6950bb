"""Classification of every documented Salesforce error code, and the fallback rules."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from docrelay.delivery.outcome import OutcomeKind
from docrelay.salesforce.credential import CredentialMissing
from docrelay.salesforce.errors import (
    FAIL_CODES,
    PAUSE_CODES,
    RETRY_CODES,
    SalesforceApiError,
    classify,
    classify_code,
)

NOW = dt.datetime(2026, 12, 4, 20, 17, 5, tzinfo=dt.UTC)
PAUSE, RETRY, FAIL = OutcomeKind.PAUSE, OutcomeKind.RETRY, OutcomeKind.FAIL

# (code, HTTP status or None for login faults, expected outcome)
DOCUMENTED_CODES = [
    # SOAP login faults
    ("INVALID_LOGIN", None, PAUSE),
    ("LOGIN_MUST_USE_SECURITY_TOKEN", None, PAUSE),
    ("PASSWORD_LOCKOUT", None, PAUSE),
    ("API_DISABLED_FOR_ORG", None, PAUSE),
    ("INVALID_OPERATION_WITH_EXPIRED_PASSWORD", None, PAUSE),
    ("LOGIN_DURING_RESTRICTED_TIME", None, PAUSE),
    ("LOGIN_DURING_RESTRICTED_DOMAIN", None, PAUSE),
    ("ORG_LOCKED", None, PAUSE),
    ("TRIAL_EXPIRED", None, PAUSE),
    ("UNSUPPORTED_API_VERSION", None, FAIL),  # a DocRelay upgrade, not a new credential, fixes it
    ("INSUFFICIENT_ACCESS", None, PAUSE),  # login() without "Use Any API Auth"
    # OAuth token endpoint errors
    ("invalid_grant", 400, PAUSE),
    ("invalid_client_id", 400, PAUSE),
    ("invalid_client", 400, PAUSE),
    ("invalid_request", 400, PAUSE),
    ("unsupported_grant_type", 400, PAUSE),
    # REST errors
    ("REQUEST_LIMIT_EXCEEDED", 403, RETRY),
    ("UNABLE_TO_LOCK_ROW", 400, RETRY),
    ("SERVER_UNAVAILABLE", 503, RETRY),
    ("UNKNOWN_EXCEPTION", 500, RETRY),
    ("ENTITY_IS_DELETED", 404, FAIL),
    ("NOT_FOUND", 404, FAIL),
    ("INVALID_CROSS_REFERENCE_KEY", 400, FAIL),
    ("INVALID_FIELD", 400, FAIL),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", 400, FAIL),
    ("STRING_TOO_LONG", 400, FAIL),
    ("DUPLICATE_VALUE", 400, FAIL),
    ("REQUIRED_FIELD_MISSING", 400, FAIL),
    ("MALFORMED_ID", 400, FAIL),
    (
        "INVALID_SESSION_ID",
        401,
        PAUSE,
    ),  # only reaches classification when a fresh login is refused too
    ("INVALID_AUTH_HEADER", 401, PAUSE),
    ("MALFORMED_QUERY", 400, FAIL),
    ("INVALID_TYPE", 400, FAIL),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", 400, FAIL),
    ("INSUFFICIENT_ACCESS_OR_READONLY", 400, FAIL),
    ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", 400, FAIL),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", 400, FAIL),
    ("DUPLICATES_DETECTED", 400, FAIL),
    ("JSON_PARSER_ERROR", 400, FAIL),
    ("ALL_OR_NONE_OPERATION_ROLLED_BACK", 400, FAIL),
    ("PROCESSING_HALTED", 400, FAIL),
]


@pytest.mark.parametrize(("code", "status", "expected"), DOCUMENTED_CODES)
def test_documented_code_is_classified(
    code: str, status: int | None, expected: OutcomeKind
) -> None:
    assert code in PAUSE_CODES | RETRY_CODES | FAIL_CODES, f"{code} is missing from the tables"
    outcome = classify_code(code, "message from Salesforce", status, None, NOW)
    assert outcome.kind is expected
    assert outcome.error_class == code
    assert outcome.message == "message from Salesforce"


def test_tables_do_not_overlap() -> None:
    assert not PAUSE_CODES & RETRY_CODES
    assert not PAUSE_CODES & FAIL_CODES
    assert not RETRY_CODES & FAIL_CODES


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, RETRY),
        (502, RETRY),
        (503, RETRY),
        (504, RETRY),
        (408, RETRY),
        (429, RETRY),
        (401, PAUSE),
        (405, FAIL),
        (410, FAIL),
    ],
)
def test_unknown_code_falls_back_on_status(status: int, expected: OutcomeKind) -> None:
    assert classify_code("SOMETHING_NEW", "x", status, None, NOW).kind is expected


def test_daily_limit_retries_after_the_hour() -> None:
    outcome = classify_code(
        "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403, None, NOW
    )
    assert outcome.retry_not_before == dt.datetime(2026, 12, 4, 21, 0, tzinfo=dt.UTC)


def test_concurrent_limit_retries_on_schedule() -> None:
    outcome = classify_code(
        "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", 403, None, NOW
    )
    assert (outcome.kind, outcome.retry_not_before) == (RETRY, None)


def test_exceptions_are_classified() -> None:
    assert classify(requests.ConnectTimeout("slow"), NOW).error_class == "timeout"
    assert classify(requests.ReadTimeout("slow"), NOW).kind is RETRY
    assert classify(requests.ConnectionError("refused"), NOW).error_class == "connection_error"
    assert classify(CredentialMissing("none"), NOW).kind is PAUSE
    login = SalesforceAuthenticationFailed(
        "INVALID_LOGIN", "Invalid username, password, security token"
    )
    assert classify(login, NOW).kind is PAUSE
    assert classify(SalesforceAuthenticationFailed(503, "Service Unavailable"), NOW).kind is RETRY
    api = SalesforceApiError(
        400, "STRING_TOO_LONG", "Name: data value too large", '[{"errorCode":"STRING_TOO_LONG"}]'
    )
    failed = classify(api, NOW)
    assert (failed.kind, failed.response_status, failed.message) == (
        FAIL,
        400,
        "Name: data value too large",
    )
    assert classify(ValueError("bug"), NOW).error_class == "internal_error"
