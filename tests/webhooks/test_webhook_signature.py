"""Standard Webhooks signatures, verified with the reference ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import standardwebhooks
from webhook_harness import Receiver, send_once

from docrelay import clock
from docrelay.webhooks.sender import WebhookRequest
from docrelay.webhooks.signature import generate_secret, headers_for, sign

BODY = '<?xml version="1.0"?><e n="Zoë &amp; co"/>'.encode()


def test_generated_secret_shape() -> None:
    secret = generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert generate_secret() != secret


def test_receiver_verifies_signature() -> None:
    secret = generate_secret()
    headers = headers_for("dlv_1", BODY, [secret], clock.now())

    verifier = standardwebhooks.Webhook(secret)

    verifier.verify(BODY, headers, json_parse=False)  # raises WebhookVerificationError if wrong


def test_both_secrets_verify_during_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    headers = headers_for("dlv_2", BODY, [new, old], clock.now())

    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(BODY, headers, json_parse=False)


def test_other_secret_or_body_fails() -> None:
    secret = generate_secret()
    headers = headers_for("dlv_3", BODY, [secret], clock.now())

    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(BODY, headers, json_parse=False)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(BODY + b" ", headers, json_parse=False)


def test_signature_known_vector() -> None:
    # Recomputable by hand: HMAC-SHA256 over "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{...}".
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    assert sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, [secret]) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_signed_request_verified_on_the_wire(receiver: Receiver) -> None:
    secret = generate_secret()
    now = clock.now()
    body = b'{"event": "document.completed"}'
    headers = {"Content-Type": "application/json", **headers_for("dlv_4", body, [secret], now)}

    result = send_once(WebhookRequest("POST", receiver.url(), headers, body, 5))
    received = receiver.requests[0]

    assert result.status == 200
    assert received.body == body
    verified = standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    assert verified == {"event": "document.completed"}
    assert received.headers["webhook-id"] == "dlv_4"
    assert received.headers["webhook-timestamp"] == str(int(now.timestamp()))


def test_timestamp_is_fresh_per_attempt() -> None:
    secret = generate_secret()
    first = headers_for("dlv_5", BODY, [secret], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    second = headers_for("dlv_5", BODY, [secret], dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC))

    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-timestamp"] != second["webhook-timestamp"]
    assert first["webhook-signature"] != second["webhook-signature"]


def test_sign_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sign("m", 1, b"", [])
