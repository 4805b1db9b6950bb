"""Sending one web-notification request over vetted egress.

:func:`send` performs exactly one HTTP exchange: it never follows redirects,
applies connect and total timeouts, reads a bounded part of the response and
turns every network failure into an :class:`HttpResult` instead of raising.
:func:`docrelay.webhooks.classify.classify` then decides what the attempt
means for the delivery.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import is_ip_address
from aiohttp.tracing import Trace

from docrelay.errors import ValidationError
from docrelay.webhooks.classify import (
    MAX_BODY_BYTES,
    HttpResult,
    check_body_size,
    classify,
    summarize_request,
)
from docrelay.webhooks.egress import (
    EgressLookupError,
    EgressRefusedError,
    IPNetwork,
    VettedResolver,
    check_url_syntax,
    classify_address,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RESPONSE_BYTES",
    "HttpResult",
    "VettedConnector",
    "WebhookRequest",
    "check_body_size",
    "classify",
    "make_client_session",
    "send",
    "summarize_request",
]

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1024 * 1024
"""Response bytes read for checks and the attempt log; the rest is discarded."""

CONNECT_TIMEOUT_SECONDS = 10.0
USER_AGENT = "DocRelay-Webhooks/1"
METHODS = ("POST", "PUT", "PATCH", "GET")


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One fully rendered request, sent byte for byte as given."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout_seconds: float = 15.0


class VettedConnector(aiohttp.TCPConnector):
    """A TCP connector that vets IP-literal hosts too.

    aiohttp does not ask the resolver about IP literals, so without this a
    URL such as ``http://[::1]/`` would bypass :class:`VettedResolver`.
    """

    def __init__(self, *, resolver: VettedResolver, limit_per_host: int = 4) -> None:
        # Without the DNS cache every request resolves and vets at send time.
        # limit=0 lifts aiohttp's default cap of 100 connections in total: the worker's
        # concurrency setting bounds deliveries in flight, and limit_per_host protects receivers.
        super().__init__(
            resolver=resolver, use_dns_cache=False, limit=0, limit_per_host=limit_per_host
        )
        self.vetted_resolver = resolver

    # NOTE: this overrides a private aiohttp method, checked against aiohttp 3.14.5.
    # send() vets IP literals itself as well, so an aiohttp change cannot open a hole there.
    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        if is_ip_address(host):
            decision = classify_address(host, self.vetted_resolver.allowed_networks)
            if not decision.allowed:
                raise EgressRefusedError(f"destination {host} rejected: {decision.reason}")
        return await super()._resolve_host(host, port, traces)


def make_client_session(
    allowed_networks: Sequence[IPNetwork] = (),
    resolver: AbstractResolver | None = None,
    limit_per_host: int = 4,
) -> aiohttp.ClientSession:
    """Create the session every web notification goes through; call it inside the event loop.

    ``resolver`` replaces the system resolver (tests use
    :class:`~docrelay.webhooks.egress.StaticResolver`). The session ignores
    proxy variables from the environment and stores no cookies, so nothing
    leaks from one destination to another.
    """
    connector = VettedConnector(
        resolver=VettedResolver(allowed_networks, resolver), limit_per_host=limit_per_host
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


async def send(session: aiohttp.ClientSession, request: WebhookRequest) -> HttpResult:
    """Send ``request`` once and return what happened; raise for nothing but cancellation."""
    started = time.monotonic()
    refusal = _vet_destination(session, request)
    if refusal is not None:
        return dataclasses.replace(refusal, request=request)

    try:
        status, headers, body, truncated = await _exchange(session, request)
    except Exception as exc:
        result = _failure(request, exc, started)
        logger.info(
            "web notification to %s failed: %s",
            request.url,
            result.error_message,
            extra={"action": "webhook_send_failed", "error_class": result.error_class},
        )
        return result

    return HttpResult(
        request=request,
        status=status,
        headers=headers,
        body=body,
        body_truncated=truncated,
        duration_ms=_elapsed_ms(started),
    )


def _vet_destination(session: aiohttp.ClientSession, request: WebhookRequest) -> HttpResult | None:
    connector = session.connector
    if not isinstance(connector, VettedConnector):
        return _refusal(
            request, "egress_refused", "the session was not made by make_client_session"
        )
    try:
        parsed = check_url_syntax(request.url)
    except ValidationError as exc:
        return _refusal(request, "invalid_url", exc.message)
    if request.method not in METHODS:
        return _refusal(request, "invalid_method", f"method must be one of {', '.join(METHODS)}")
    if parsed.ip is not None:
        decision = classify_address(parsed.ip, connector.vetted_resolver.allowed_networks)
        if not decision.allowed:
            return _refusal(request, "egress_refused", f"destination rejected: {decision.reason}")
    return None


def _refusal(request: WebhookRequest, kind: str, message: str) -> HttpResult:
    return HttpResult(request=request, failure=kind, error_class=kind, error_message=message)


async def _exchange(
    session: aiohttp.ClientSession, request: WebhookRequest
) -> tuple[int, dict[str, str], bytes, bool]:
    timeout = aiohttp.ClientTimeout(
        total=request.timeout_seconds,
        sock_connect=min(CONNECT_TIMEOUT_SECONDS, request.timeout_seconds),
    )
    async with session.request(
        request.method,
        check_url_syntax(request.url).url,
        headers=dict(request.headers),
        data=request.body or None,
        allow_redirects=False,
        timeout=timeout,
    ) as response:
        body, truncated = await _read_bounded(response)
        return response.status, dict(response.headers), body, truncated


async def _read_bounded(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_RESPONSE_BYTES:
        chunk = await response.content.read(MAX_RESPONSE_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return body[:MAX_RESPONSE_BYTES], len(body) > MAX_RESPONSE_BYTES


def _failure(request: WebhookRequest, exc: BaseException, started: float) -> HttpResult:
    kind = _failure_kind(exc)
    cause = _egress_cause(exc)
    shown = cause if cause is not None else exc
    return HttpResult(
        request=request,
        failure=kind,
        error_class=type(shown).__name__,
        error_message=str(shown) or type(shown).__name__,
        duration_ms=_elapsed_ms(started),
    )


def _failure_kind(exc: BaseException) -> str:
    cause = _egress_cause(exc)
    if isinstance(cause, EgressLookupError):
        return "dns_error"
    if cause is not None:
        return "egress_refused"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "connection_error"
    return "error"


def _egress_cause(exc: BaseException) -> EgressRefusedError | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, EgressRefusedError):
            return seen
        os_error = getattr(seen, "os_error", None)
        seen = os_error if isinstance(os_error, BaseException) else seen.__cause__
    return None


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
