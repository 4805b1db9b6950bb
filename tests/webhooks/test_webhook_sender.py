"""Sending to a real local receiver and classifying every kind of response."""

from __future__ import annotations

import datetime as dt
import email.utils

import aiohttp
import pytest
from webhook_harness import LOOPBACK_ALLOWED, Receiver, Reply, run, send_once

from docrelay.delivery.outcome import OutcomeKind
from docrelay.webhooks.checks import ResponseCheck, evaluate
from docrelay.webhooks.classify import MAX_BODY_BYTES, check_body_size, classify
from docrelay.webhooks.egress import StaticResolver
from docrelay.webhooks.sender import (
    MAX_RESPONSE_BYTES,
    HttpResult,
    WebhookRequest,
    make_client_session,
    send,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def post(
    url: str, body: bytes = b'{"a": 1}', timeout: float = 5.0, headers: dict[str, str] | None = None
) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=body,
        timeout_seconds=timeout,
    )


def outcome_for(result: HttpResult, checks=(), *, auth: bool = False):
    verdicts = evaluate(list(checks), result.status or 0, result.headers, result.body)
    return classify(result, verdicts, design_has_auth=auth, now=NOW)


def test_send_delivers_body_bytes_exactly(receiver: Receiver) -> None:
    body = '{"name": "Zoë \\"Q\\""}'.encode()
    result = send_once(post(receiver.url(), body, headers={"X-Custom": "v1"}))

    assert result.status == 200
    assert result.failure is None
    assert receiver.requests[0].body == body
    assert receiver.requests[0].headers["X-Custom"] == "v1"
    assert receiver.requests[0].headers["Content-Type"] == "application/json"
    assert outcome_for(result).kind is OutcomeKind.DELIVERED


@pytest.mark.parametrize(
    ("status", "kind", "error_class"),
    [
        (200, OutcomeKind.DELIVERED, None),
        (201, OutcomeKind.DELIVERED, None),
        (204, OutcomeKind.DELIVERED, None),
        (408, OutcomeKind.RETRY, "http_408"),
        (425, OutcomeKind.RETRY, "http_425"),
        (429, OutcomeKind.RETRY, "http_429"),
        (500, OutcomeKind.RETRY, "http_500"),
        (502, OutcomeKind.RETRY, "http_502"),
        (503, OutcomeKind.RETRY, "http_503"),
        (504, OutcomeKind.RETRY, "http_504"),
        (501, OutcomeKind.FAIL, "http_501"),
        (400, OutcomeKind.FAIL, "http_400"),
        (404, OutcomeKind.FAIL, "http_404"),
        (422, OutcomeKind.FAIL, "http_422"),
        # Without auth on the design, 401 and 403 are plain client errors.
        (401, OutcomeKind.FAIL, "http_401"),
        (403, OutcomeKind.FAIL, "http_403"),
        (410, OutcomeKind.FAIL, "http_410"),
        (301, OutcomeKind.FAIL, "http_301"),
        (304, OutcomeKind.FAIL, "http_304"),
    ],
)
def test_status_classification(
    receiver: Receiver, status: int, kind: OutcomeKind, error_class: str | None
) -> None:
    receiver.reply("/hook", Reply(status=status, body=b"" if status in (204, 304) else b"x"))
    result = send_once(post(receiver.url()))

    outcome = outcome_for(result)

    assert result.status == status
    assert outcome.kind is kind
    assert outcome.error_class == error_class
    assert outcome.response_status == status
    assert outcome.disable_design is (status == 410)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_rejection_pauses_design_with_auth(receiver: Receiver, status: int) -> None:
    receiver.reply("/hook", Reply(status=status))
    result = send_once(post(receiver.url(), headers={"Authorization": "Bearer tok-123"}))

    outcome = outcome_for(result, auth=True)

    assert outcome.kind is OutcomeKind.PAUSE
    assert "credential" in (outcome.message or "")


def test_redirect_not_followed(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=302, headers={"Location": receiver.url("/elsewhere")}))

    result = send_once(post(receiver.url()))
    outcome = outcome_for(result)

    assert receiver.paths() == ["/hook"]
    assert outcome.kind is OutcomeKind.FAIL
    assert "redirects are not followed" in (outcome.message or "")
    assert "/elsewhere" in (outcome.message or "")


def test_retry_after_seconds(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=429, headers={"Retry-After": "120"}))

    outcome = outcome_for(send_once(post(receiver.url())))

    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_not_before == NOW + dt.timedelta(seconds=120)


def test_retry_after_http_date(receiver: Receiver) -> None:
    later = NOW + dt.timedelta(hours=3)
    receiver.reply(
        "/hook",
        Reply(status=503, headers={"Retry-After": email.utils.format_datetime(later, True)}),
    )

    outcome = outcome_for(send_once(post(receiver.url())))

    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_not_before == later


def test_retry_after_capped_at_one_day(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=429, headers={"Retry-After": str(7 * 86400)}))

    outcome = outcome_for(send_once(post(receiver.url())))

    assert outcome.retry_not_before == NOW + dt.timedelta(hours=24)


def test_retry_after_garbage_ignored(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=429, headers={"Retry-After": "soon"}))

    outcome = outcome_for(send_once(post(receiver.url())))

    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_not_before is None


def test_timeout_is_retried(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(delay=2.0))

    result = send_once(post(receiver.url(), timeout=0.3))
    outcome = outcome_for(result)

    assert result.failure == "timeout"
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error_class == "timeout"
    assert result.duration_ms is not None and result.duration_ms < 2000


def test_connection_refused_is_retried(closed_port: int) -> None:
    result = send_once(post(f"http://127.0.0.1:{closed_port}/hook"))
    outcome = outcome_for(result)

    assert result.failure == "connection_error"
    assert result.error_class == "ClientConnectorError"
    assert outcome.kind is OutcomeKind.RETRY


def test_connection_reset_is_retried(resetting_port: int) -> None:
    result = send_once(post(f"http://127.0.0.1:{resetting_port}/hook"))
    outcome = outcome_for(result)

    assert result.failure == "connection_error"
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error_class == "connection_error"


def test_loopback_refused_without_allow_list(receiver: Receiver) -> None:
    result = send_once(post(receiver.url()), allowed=())
    outcome = outcome_for(result)

    assert result.failure == "egress_refused"
    assert outcome.kind is OutcomeKind.FAIL
    assert receiver.requests == []


def test_name_resolving_to_loopback_refused(receiver: Receiver) -> None:
    result = send_once(post(f"http://localhost:{receiver.port}/hook"))

    assert result.failure == "egress_refused"
    assert receiver.requests == []


def test_invalid_url_fails_without_sending(receiver: Receiver) -> None:
    result = send_once(post(f"http://user@127.0.0.1:{receiver.port}/hook"))

    assert result.failure == "invalid_url"
    assert outcome_for(result).kind is OutcomeKind.FAIL
    assert receiver.requests == []


def test_failed_check_on_2xx_fails(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=200, body=b'{"ok": false}'))
    checks = [ResponseCheck(source="json_path", expression="$.ok", operator="equals", value="true")]

    outcome = outcome_for(send_once(post(receiver.url())), checks)

    assert outcome.kind is OutcomeKind.FAIL
    assert outcome.error_class == "response_check_failed"
    assert "$.ok" in (outcome.message or "")


def test_response_excerpt_and_bounded_read(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=200, body=b"a" * (MAX_RESPONSE_BYTES + 5000)))

    result = send_once(post(receiver.url()))
    outcome = outcome_for(result)

    assert len(result.body) == MAX_RESPONSE_BYTES
    assert result.body_truncated
    assert outcome.response_excerpt == "a" * 2048


def test_request_summary_masks_secrets(receiver: Receiver) -> None:
    request = post(
        receiver.url() + "?api_token=abc123&page=2",
        headers={
            "Authorization": "Basic dXNlcjpwYXNz",
            "webhook-signature": "v1,c2ln",
            "X-Api-Key": "k-999",
            "X-Trace": "t-1",
        },
    )

    outcome = outcome_for(send_once(request))
    summary = outcome.request_summary or ""

    assert "Authorization: Basic ***" in summary
    assert "webhook-signature: ***" in summary
    assert "X-Api-Key: ***" in summary
    assert "X-Trace: t-1" in summary
    assert "api_token=***&page=2" in summary
    for secret in ("dXNlcjpwYXNz", "c2ln", "k-999", "abc123"):
        assert secret not in summary


def test_body_size_limit() -> None:
    assert check_body_size(b"x" * MAX_BODY_BYTES) is None

    outcome = check_body_size(b"x" * (MAX_BODY_BYTES + 1))

    assert outcome is not None
    assert outcome.kind is OutcomeKind.FAIL
    assert "SFTP" in (outcome.message or "")


def send_via_names(request: WebhookRequest, table: dict[str, list[str]]) -> HttpResult:
    async def go() -> HttpResult:
        session = make_client_session(LOOPBACK_ALLOWED, resolver=StaticResolver(table))
        async with session:
            return await send(session, request)

    return run(go)


def test_name_connects_to_vetted_address_keeping_host(receiver: Receiver) -> None:
    request = post(f"http://hooks.test:{receiver.port}/hook")

    result = send_via_names(request, {"hooks.test": ["127.0.0.1"]})

    assert result.status == 200
    assert receiver.requests[0].headers["Host"] == f"hooks.test:{receiver.port}"


@pytest.mark.parametrize(
    "addresses", [["169.254.169.254"], ["127.0.0.1", "10.0.0.1"], ["fd00:ec2::254"], []]
)
def test_name_with_refused_address_never_sent(receiver: Receiver, addresses: list[str]) -> None:
    request = post(f"http://hooks.test:{receiver.port}/hook")

    result = send_via_names(request, {"hooks.test": addresses})
    outcome = outcome_for(result)

    assert result.failure in ("egress_refused", "dns_error")
    assert outcome.kind in (OutcomeKind.FAIL, OutcomeKind.RETRY)
    assert receiver.requests == []


def test_refused_address_fails_permanently(receiver: Receiver) -> None:
    result = send_via_names(post(f"http://meta.test:{receiver.port}/"), {"meta.test": ["10.1.1.1"]})
    outcome = outcome_for(result)

    assert result.failure == "egress_refused"
    assert outcome.kind is OutcomeKind.FAIL
    assert "10.1.1.1" in (outcome.message or "")


def test_unknown_name_is_retried(receiver: Receiver) -> None:
    result = send_via_names(post(f"http://gone.test:{receiver.port}/"), {})

    assert result.failure == "dns_error"
    assert outcome_for(result).kind is OutcomeKind.RETRY


def test_session_not_vetted_is_refused(receiver: Receiver) -> None:
    async def go() -> HttpResult:
        async with aiohttp.ClientSession() as session:
            return await send(session, post(receiver.url()))

    result = run(go)

    assert result.failure == "egress_refused"
    assert receiver.requests == []


def test_connector_vets_ip_literals_outside_send(receiver: Receiver) -> None:
    async def go() -> None:
        async with make_client_session(()) as session:
            await session.get(receiver.url())

    with pytest.raises(aiohttp.ClientConnectorError):
        run(go)
    assert receiver.requests == []
