"""Fault injection: rules that make chosen API calls fail the way Salesforce fails.

A rule fires either on each of the next ``times`` matching calls or, with
``probability``, on each matching call at random until it is cleared. A rule
matches REST data calls (``/services/data``); with ``include_auth`` it also
matches the login and token endpoints.

Kinds:

``lock_row``            400 ``UNABLE_TO_LOCK_ROW``
``unavailable``         HTTP 503 with an HTML body, as the Salesforce edge returns
``server_error``        HTTP 500 ``UNKNOWN_EXCEPTION``
``delay``               wait ``seconds``, then respond normally
``drop``                close the connection without a response
``expire_session``      end the caller's session first, so the call gets 401
``session_not_valid``   401 ``INVALID_SESSION_ID`` "This session is not valid for use
                        with the REST API", which re-login does not cure
``request_limit``       403 ``REQUEST_LIMIT_EXCEEDED``; ``message`` can select the
                        concurrent variant ("ConcurrentPerOrgLongTxn Limit exceeded.")
``validation``          400 on records that set ``field`` (optionally only of
                        ``object``): ``code`` is ``FIELD_CUSTOM_VALIDATION_EXCEPTION``
                        (default), ``STRING_TOO_LONG`` or ``DUPLICATE_VALUE``, with ``message``
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from docrelay.errors import ValidationError

FAULT_KINDS = (
    "lock_row",
    "unavailable",
    "server_error",
    "delay",
    "drop",
    "expire_session",
    "session_not_valid",
    "request_limit",
    "validation",
)
VALIDATION_CODES = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "STRING_TOO_LONG", "DUPLICATE_VALUE")


@dataclasses.dataclass
class FaultRule:
    """One fault switch; see the module docstring for the kinds."""

    kind: str
    times: int | None = None
    probability: float | None = None
    seconds: float = 0.0
    field: str | None = None
    object: str | None = None
    message: str | None = None
    code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    method: str | None = None
    path_contains: str | None = None
    include_auth: bool = False
    fired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_rule(body: dict[str, Any]) -> FaultRule:
    """Build a rule from admin JSON or CLI values; raise ValidationError naming the bad field."""
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        raise ValidationError.for_field("kind", f"must be one of {', '.join(FAULT_KINDS)}")

    times = body.get("times")
    probability = body.get("probability")
    if times is None and probability is None:
        times = 1
    if times is not None and (not isinstance(times, int) or times < 1):
        raise ValidationError.for_field("times", "must be a whole number of calls, 1 or more")
    if probability is not None and not (
        isinstance(probability, int | float) and 0 <= probability <= 1
    ):
        raise ValidationError.for_field("probability", "must be a number from 0 to 1")

    if kind == "validation" and not body.get("field"):
        raise ValidationError.for_field("field", "a validation fault needs the field it fails on")

    code = body.get("code") or "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    if code not in VALIDATION_CODES:
        raise ValidationError.for_field("code", f"must be one of {', '.join(VALIDATION_CODES)}")
    seconds = body.get("seconds", 0.0)
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ValidationError.for_field("seconds", "must be a number of seconds, 0 or more")

    return FaultRule(
        kind=kind,
        times=times,
        probability=float(probability) if probability is not None else None,
        seconds=float(seconds),
        field=body.get("field"),
        object=body.get("object"),
        message=body.get("message") or None,
        code=code,
        method=(body.get("method") or None) and str(body["method"]).upper(),
        path_contains=body.get("path_contains"),
        include_auth=bool(body.get("include_auth", False)),
    )


class FaultInjector:
    """The active rules and the random source that decides probabilistic ones."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.random = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def take_call_fault(self, method: str, path: str, is_auth: bool) -> FaultRule | None:
        """Return the first call-level rule that fires for this request, consuming one use."""
        for rule in self.rules:
            if rule.kind == "validation" or not self._matches(rule, method, path, is_auth):
                continue
            if self._fire(rule):
                return rule
        return None

    def take_validation_fault(self, object_name: str, field_names: set[str]) -> FaultRule | None:
        """Return a validation rule that fires for a record of ``object_name`` setting these fields."""
        lowered = {name.lower() for name in field_names}
        for rule in self.rules:
            if rule.kind != "validation" or (rule.field or "").lower() not in lowered:
                continue
            if rule.object and rule.object.lower() != object_name.lower():
                continue
            if self._fire(rule):
                return rule
        return None

    def _matches(self, rule: FaultRule, method: str, path: str, is_auth: bool) -> bool:
        if is_auth and not rule.include_auth:
            return False
        if rule.method and rule.method != method.upper():
            return False
        return not (rule.path_contains and rule.path_contains not in path)

    def _fire(self, rule: FaultRule) -> bool:
        if rule.probability is not None and self.random.random() >= rule.probability:
            return False
        rule.fired += 1
        if rule.times is not None and rule.fired >= rule.times:
            self.rules.remove(rule)
        return True
