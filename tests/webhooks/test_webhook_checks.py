"""Response checks: every source and operator, and validation of check definitions."""

from __future__ import annotations

import pytest

from docrelay.errors import ValidationError
from docrelay.webhooks.checks import DEFAULT_CHECKS, ResponseCheck, evaluate, validate_checks

JSON_BODY = b'{"result": {"ok": true, "id": "R-17", "count": 3}, "tags": ["a", "b"]}'
SOAP_BODY = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body><NotifyResponse xmlns="urn:x"><Status>Accepted</Status><Count>3</Count></NotifyResponse>
  </s:Body>
</s:Envelope>"""


def check(source: str, operator: str, value: str, expression: str | None = None) -> ResponseCheck:
    return ResponseCheck.model_validate(
        {"source": source, "operator": operator, "value": value, "expression": expression}
    )


def verdict(one: ResponseCheck, status: int = 200, body: bytes = b"") -> bool:
    (result,) = evaluate([one], status, {}, body)
    return result.passed


@pytest.mark.parametrize(
    ("one", "status", "passed"),
    [
        (check("status_code", "equals", "2xx"), 204, True),
        (check("status_code", "equals", "2xx"), 302, False),
        (check("status_code", "equals", "202"), 202, True),
        (check("status_code", "equals", "202"), 200, False),
        (check("status_code", "contains", "20"), 201, True),
        (check("status_code", "not_contains", "5"), 200, True),
        (check("status_code", "not_contains", "5"), 500, False),
    ],
)
def test_status_code_checks(one: ResponseCheck, status: int, passed: bool) -> None:
    assert verdict(one, status) is passed


@pytest.mark.parametrize(
    ("one", "passed"),
    [
        (check("body", "equals", "Hello API Event Received"), True),
        (check("body", "equals", "Hello"), False),
        (check("body", "contains", "Event"), True),
        (check("body", "contains", "event"), False),
        (check("body", "not_contains", "error"), True),
        (check("body", "not_contains", "API"), False),
    ],
)
def test_body_checks(one: ResponseCheck, passed: bool) -> None:
    assert verdict(one, body=b"Hello API Event Received\n") is passed


@pytest.mark.parametrize(
    ("one", "passed"),
    [
        (check("json_path", "equals", "true", "$.result.ok"), True),
        (check("json_path", "equals", "R-17", "$.result.id"), True),
        (check("json_path", "equals", "3", "$.result.count"), True),
        (check("json_path", "equals", "R-18", "$.result.id"), False),
        (check("json_path", "equals", "x", "$.missing"), False),
        (check("json_path", "contains", "R-", "$.result.id"), True),
        (check("json_path", "contains", "b", "$.tags[*]"), True),
        (check("json_path", "not_contains", "c", "$.tags[*]"), True),
        (check("json_path", "not_contains", "a", "$.tags[*]"), False),
    ],
)
def test_json_path_checks(one: ResponseCheck, passed: bool) -> None:
    assert verdict(one, body=JSON_BODY) is passed


@pytest.mark.parametrize(
    ("one", "passed"),
    [
        (check("xpath", "equals", "Accepted", "//*[local-name()='Status']"), True),
        (check("xpath", "equals", "Rejected", "//*[local-name()='Status']"), False),
        (check("xpath", "equals", "3", "count(//*[local-name()='Status']) + 2"), True),
        (check("xpath", "equals", "true", "boolean(//*[local-name()='Count'])"), True),
        (check("xpath", "contains", "Accept", "string(//*[local-name()='Status'])"), True),
        (check("xpath", "not_contains", "Fault", "//*[local-name()='Body']"), True),
        (check("xpath", "not_contains", "Accepted", "//*[local-name()='Body']"), False),
    ],
)
def test_xpath_checks(one: ResponseCheck, passed: bool) -> None:
    assert verdict(one, body=SOAP_BODY) is passed


def test_verdict_reports_actual_value() -> None:
    (result,) = evaluate([check("json_path", "equals", "R-18", "$.result.id")], 200, {}, JSON_BODY)

    assert result.actual == "R-17"
    assert "R-18" in result.message
    assert "failed" in result.message


def test_default_check_is_2xx() -> None:
    assert DEFAULT_CHECKS[0].value == "2xx"
    assert [v.passed for v in evaluate([], 200, {}, b"")] == [True]
    assert [v.passed for v in evaluate([], 404, {}, b"")] == [False]


def test_json_path_on_non_json_body_fails() -> None:
    (result,) = evaluate([check("json_path", "equals", "1", "$.a")], 200, {}, b"<html>")

    assert result.passed is False
    assert "not JSON" in result.message


def test_xpath_refuses_entity_expansion() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<r>&b;</r>"""

    (result,) = evaluate([check("xpath", "contains", "a", "/r")], 200, {}, bomb)

    assert result.passed is False
    assert "not safe" in result.message


def test_xpath_refuses_external_entity() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'

    (result,) = evaluate([check("xpath", "contains", "root", "/r")], 200, {}, body)

    assert result.passed is False
    assert result.actual is None


@pytest.mark.parametrize(
    ("checks", "field"),
    [
        ([check("json_path", "equals", "1", "$.[[")], "response_checks[0].expression"),
        ([check("xpath", "equals", "1", "//*[")], "response_checks[0].expression"),
        (
            [check("body", "contains", "x"), check("xpath", "equals", "1", None)],
            "response_checks[1].expression",
        ),
        ([check("body", "contains", "x", "$.a")], "response_checks[0].expression"),
        ([check("status_code", "equals", "ok")], "response_checks[0].value"),
    ],
)
def test_invalid_checks_rejected(checks: list[ResponseCheck], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_checks(checks)

    assert [name for name, _ in caught.value.errors] == [field]


def test_valid_checks_accepted() -> None:
    validate_checks(
        [
            check("status_code", "equals", "20x"),
            check("json_path", "equals", "true", "$.result.ok"),
            check("xpath", "contains", "OK", "//Status"),
        ]
    )
