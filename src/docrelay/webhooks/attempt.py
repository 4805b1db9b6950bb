"""One web-notification attempt, start to finish: render, authenticate, sign, send, classify.

The tracking engine and the design test button both call
:func:`attempt_delivery`; the retry decision stays with the worker, which only
reads the returned :class:`~docrelay.delivery.outcome.AttemptOutcome`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import aiohttp

from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.errors import ValidationError
from docrelay.webhooks.auth import AuthType, apply_auth
from docrelay.webhooks.checks import CheckVerdict, ResponseCheck, evaluate
from docrelay.webhooks.classify import HttpResult, check_body_size, classify
from docrelay.webhooks.merge import render, render_headers
from docrelay.webhooks.sender import WebhookRequest, send
from docrelay.webhooks.signature import headers_for

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookDesign:
    """The settings of a web-notification design that shape the request, secrets decrypted."""

    url: str
    signing_secrets: tuple[str, ...]
    """Current secret first; during rotation the previous one too, so both sign."""
    method: str = "POST"
    content_type: str = "application/json"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body_template: str = ""
    soap_action: str | None = None
    timeout_seconds: float = 15.0
    auth_type: AuthType = "none"
    username: str | None = None
    password: str | None = None
    token: str | None = None
    response_checks: tuple[ResponseCheck, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptReport:
    """Everything one attempt produced, for the attempt log and the design test button."""

    outcome: AttemptOutcome
    request: WebhookRequest | None
    result: HttpResult | None
    verdicts: tuple[CheckVerdict, ...]


def build_request(
    design: WebhookDesign, values: Mapping[str, str], delivery_id: str, now: dt.datetime
) -> WebhookRequest:
    """Render and sign the request for one attempt.

    Raises :class:`ValidationError` when a rendered header would contain a
    line break or a credential is missing.
    """
    body = render(design.body_template, values, design.content_type).encode("utf-8")

    headers = render_headers(design.headers, values)
    headers["Content-Type"] = f"{design.content_type}; charset=utf-8"
    if design.soap_action is not None:
        headers["SOAPAction"] = _quoted(design.soap_action)
    apply_auth(headers, design.auth_type, design.username, design.password, design.token)
    headers.update(headers_for(delivery_id, body, design.signing_secrets, now))

    return WebhookRequest(design.method, design.url, headers, body, design.timeout_seconds)


def _quoted(soap_action: str) -> str:
    # SOAP 1.1 (section 6.1.1) writes the SOAPAction value as a quoted string.
    if len(soap_action) >= 2 and soap_action.startswith('"') and soap_action.endswith('"'):
        return soap_action
    return f'"{soap_action}"'


async def attempt_delivery(
    session: aiohttp.ClientSession,
    design: WebhookDesign,
    values: Mapping[str, str],
    delivery_id: str,
    now: dt.datetime,
) -> AttemptReport:
    """Make one attempt and classify it; raise for nothing but cancellation."""
    try:
        request = build_request(design, values, delivery_id, now)
    except ValidationError as exc:
        outcome = AttemptOutcome(OutcomeKind.FAIL, error_class="render_failed", message=exc.message)
        return AttemptReport(outcome, None, None, ())

    too_large = check_body_size(request.body)
    if too_large is not None:
        return AttemptReport(too_large, request, None, ())

    result = await send(session, request)
    verdicts: Sequence[CheckVerdict] = ()
    if result.status is not None:
        verdicts = evaluate(design.response_checks, result.status, result.headers, result.body)
    outcome = classify(result, verdicts, design_has_auth=design.auth_type != "none", now=now)

    logger.info(
        "web notification %s: %s",
        delivery_id,
        outcome.kind.value,
        extra={
            "action": "webhook_attempt_finished",
            "delivery_id": delivery_id,
            "status_code": result.status,
            "duration_ms": result.duration_ms,
        },
    )
    return AttemptReport(outcome, request, result, tuple(verdicts))
