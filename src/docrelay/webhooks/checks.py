"""Response checks: conditions a receiver's response must meet to count as delivered.

A design lists checks that must all pass; without any, the default check
"status is 2xx" applies. A check reads one part of the response (the status
code, the body, a JSONPath match or an XPath match) and compares it with
``equals``, ``contains`` or ``not_contains``. For ``status_code equals``, an
``x`` in the value matches any digit, so ``2xx`` means any success status.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree
from collections.abc import Mapping, Sequence
from typing import Literal

import defusedxml
import defusedxml.ElementTree
import jsonpath_ng
import lxml.etree
from pydantic import BaseModel, ConfigDict

from docrelay.errors import ValidationError

CheckSource = Literal["status_code", "body", "json_path", "xpath"]
CheckOperator = Literal["equals", "contains", "not_contains"]

_ACTUAL_LIMIT = 200
_STATUS_PATTERN = re.compile(r"[1-5][0-9xX]{2}")


class ResponseCheck(BaseModel):
    """One condition on the response."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: CheckSource
    expression: str | None = None
    """JSONPath or XPath expression; only for ``json_path`` and ``xpath``."""
    operator: CheckOperator
    value: str


DEFAULT_CHECKS: tuple[ResponseCheck, ...] = (
    ResponseCheck(source="status_code", operator="equals", value="2xx"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckVerdict:
    check: ResponseCheck
    passed: bool
    actual: str | None
    """Value read from the response, cut to 200 characters, or None if nothing matched."""
    message: str


def validate_checks(checks: Sequence[ResponseCheck]) -> None:
    """Reject checks that cannot run, naming ``response_checks[i].<field>``."""
    errors: list[tuple[str, str]] = []
    for index, check in enumerate(checks):
        field = f"response_checks[{index}]"
        errors.extend(_check_problems(field, check))
    if errors:
        raise ValidationError(errors=errors)


def _check_problems(field: str, check: ResponseCheck) -> list[tuple[str, str]]:
    if check.source in ("status_code", "body"):
        if check.expression:
            return [(f"{field}.expression", f"must be empty for source {check.source}")]
        is_status_equals = check.source == "status_code" and check.operator == "equals"
        if is_status_equals and not _STATUS_PATTERN.fullmatch(check.value):
            return [(f"{field}.value", "must be a status such as 200 or a pattern such as 2xx")]
        return []

    if not check.expression:
        return [(f"{field}.expression", f"is required for source {check.source}")]
    try:
        if check.source == "json_path":
            jsonpath_ng.parse(check.expression)
        else:
            lxml.etree.XPath(check.expression)
    except Exception as exc:  # both libraries raise several unrelated exception classes
        kind = "JSONPath" if check.source == "json_path" else "XPath"
        return [(f"{field}.expression", f"is not a valid {kind} expression: {exc}")]
    return []


def evaluate(
    checks: Sequence[ResponseCheck],
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> list[CheckVerdict]:
    """Run every check (or the default check) against one response."""
    del headers  # no check reads headers yet; the parameter keeps the signature stable
    return [_evaluate_one(check, status, body) for check in (checks or DEFAULT_CHECKS)]


def _evaluate_one(check: ResponseCheck, status: int, body: bytes) -> CheckVerdict:
    try:
        actuals = _read(check, status, body)
    except _UnreadableBody as exc:
        return CheckVerdict(check, False, None, str(exc))

    passed = _compare(check, actuals)
    actual = None if not actuals else _shorten(" | ".join(actuals))
    verb = "passed" if passed else "failed"
    subject = check.source if not check.expression else f"{check.source} {check.expression}"
    message = f"{subject} {check.operator} {check.value!r} {verb}; got {actual!r}"
    return CheckVerdict(check, passed, actual, message)


class _UnreadableBody(Exception):
    pass


def _read(check: ResponseCheck, status: int, body: bytes) -> list[str]:
    if check.source == "status_code":
        return [str(status)]
    if check.source == "body":
        return [body.decode("utf-8", "replace")]
    if check.source == "json_path":
        return _read_json_path(check.expression or "", body)
    return _read_xpath(check.expression or "", body)


def _read_json_path(expression: str, body: bytes) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise _UnreadableBody(f"the response body is not JSON: {exc}") from exc
    matches = jsonpath_ng.parse(expression).find(document)
    return [_json_text(match.value) for match in matches]


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


_SAFE_PARSER = lxml.etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _read_xpath(expression: str, body: bytes) -> list[str]:
    # defusedxml rejects DTDs and entity declarations before lxml parses the body,
    # and the lxml parser itself neither resolves entities nor touches the network.
    try:
        defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
        root = lxml.etree.fromstring(body, parser=_SAFE_PARSER)
    except (xml.etree.ElementTree.ParseError, defusedxml.DefusedXmlException) as exc:
        raise _UnreadableBody(f"the response body is not safe, well-formed XML: {exc}") from exc
    except lxml.etree.XMLSyntaxError as exc:
        raise _UnreadableBody(f"the response body is not well-formed XML: {exc}") from exc

    try:
        result = root.xpath(expression)
    except lxml.etree.XPathError as exc:
        raise _UnreadableBody(f"the XPath expression failed: {exc}") from exc
    items = result if isinstance(result, list) else [result]
    return [_xpath_text(item) for item in items]


def _xpath_text(item: object) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float):
        return str(int(item)) if item.is_integer() else str(item)
    if isinstance(item, lxml.etree._Element):
        return "".join(item.itertext())
    return str(item)


def _compare(check: ResponseCheck, actuals: list[str]) -> bool:
    if check.operator == "not_contains":
        return not any(check.value in actual for actual in actuals)
    if check.operator == "contains":
        return any(check.value in actual for actual in actuals)
    if check.source == "status_code":
        return any(_status_matches(check.value, actual) for actual in actuals)
    if check.source == "body":
        # Receivers often end a fixed response body with a newline, which is not part of the value.
        return any(actual.strip() == check.value.strip() for actual in actuals)
    return any(actual == check.value for actual in actuals)


def _status_matches(pattern: str, status: str) -> bool:
    if len(pattern) != len(status):
        return False
    return all(p in "xX" or p == s for p, s in zip(pattern, status, strict=True))


def _shorten(text: str) -> str:
    return text if len(text) <= _ACTUAL_LIMIT else text[: _ACTUAL_LIMIT - 1] + "…"
