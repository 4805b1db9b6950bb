"""Alert emails: written as .eml files with the facts an operator needs, throttled per design."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from delivery_factory import create_document, deliveries_of
from ops_destination import Ops

from docrelay import clock
from docrelay.delivery import alert_mail
from docrelay.delivery.alerts import AlertSpec, close_alert, open_alert
from docrelay.delivery.mail import Mailer, build_message, check_header
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.errors import ConfigurationError, ValidationError
from docrelay.runtime import Runtime
from docrelay.storage.models import Design


def _contacts(runtime: Runtime, design_id: str, notify_on: str) -> None:
    with runtime.database.transaction() as session:
        design = session.get(Design, design_id)
        assert design is not None
        design.failure_contacts = ["alice@example.com", "bob@example.com"]
        design.notify_on = notify_on
        design.config = {"url": "https://hooks.example.test/docrelay?x=[Document ID]"}


def _fail(runtime: Runtime, delivery, *, state: str = "retrying", attempt: int = 1) -> bool:
    with runtime.database.transaction() as session:
        return alert_mail.note_failure(
            session,
            {
                "id": delivery.id,
                "design_id": delivery.design_id,
                "document_id": delivery.document_id,
                "event_type": delivery.event_type,
                "sequence": delivery.sequence,
                "destination_key": delivery.destination_key,
                "attempt_number": attempt,
            },
            {
                "state": state,
                "error_class": "http_503",
                "error_message": "Service Unavailable",
                "request_summary": "POST https://hooks.example.test/docrelay?x=1",
                "next_attempt_at": clock.now() + dt.timedelta(seconds=10)
                if state == "retrying"
                else None,
            },
            clock.now(),
        )


def _emails(outbox: Path) -> list[EmailMessage]:
    if not outbox.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]


@pytest.fixture
def frozen() -> clock.FrozenClock:
    source = clock.FrozenClock(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC))
    clock.set_clock(source)
    return source


def test_failure_email_says_what_failed_and_throttles(
    runtime: Runtime, ops: Ops, frozen: clock.FrozenClock
) -> None:
    _contacts(runtime, ops.design_id, "all")
    document = create_document(
        runtime, ops.account_id, [{"event": "document.created", "design_id": ops.design_id}]
    )
    (delivery,) = deliveries_of(runtime, document)
    mailer = Mailer.from_settings(runtime.settings)
    outbox = runtime.settings.data_dir / "outbox"

    assert _fail(runtime, delivery)
    assert alert_mail.send_due(runtime.database, mailer, clock.now()) == 1
    (first,) = _emails(outbox)
    assert first["To"] == "alice@example.com, bob@example.com"
    assert first["Subject"] == "DocRelay: a delivery for design Ops recorder failed"
    body = first.get_content()
    for expected in (
        "Design:        Ops recorder (ops_recorder)",
        f"Document:      NDA for Jane Doe ({document})",
        "Event:         document.created (sequence 1)",
        f"Delivery:      {delivery.id}, attempt 1, now retrying, next attempt at",
        "Endpoint host: hooks.example.test",
        "Error:         http_503: Service Unavailable",
        "Deliveries waiting for this destination: 1",
        "DocRelay retries on its schedule",
    ):
        assert expected in body

    # Within 15 minutes nothing more is sent; the failures wait in the database.
    frozen.advance(minutes=5)
    assert _fail(runtime, delivery, attempt=2)
    frozen.advance(minutes=1)
    assert _fail(runtime, delivery, state="failed", attempt=3)
    fresh_mailer = Mailer.from_settings(runtime.settings)  # as after a restart
    assert alert_mail.send_due(runtime.database, fresh_mailer, clock.now()) == 0
    frozen.advance(minutes=8, seconds=59)
    assert alert_mail.send_due(runtime.database, fresh_mailer, clock.now()) == 0
    assert len(_emails(outbox)) == 1

    frozen.advance(seconds=1)
    assert alert_mail.send_due(runtime.database, fresh_mailer, clock.now()) == 1
    second = _emails(outbox)[1]
    assert second["Subject"] == "DocRelay: 2 failed deliveries for design Ops recorder"
    body = second.get_content()
    assert "attempt 3, now failed" in body
    assert "Earlier failures since the last email (1):" in body
    assert "attempt 2  retrying: http_503 Service Unavailable" in body
    assert f"POST /api/v1/deliveries/{delivery.id}/resend" in body
    assert f"docrelay deliveries resend --account CONTEXT_ID --design {ops.design_id}" in body
    assert alert_mail.send_due(runtime.database, fresh_mailer, clock.now()) == 0


@pytest.mark.parametrize(
    ("notify_on", "expected"),
    [
        ("first", [True, False, False]),
        ("final", [False, False, True]),
        ("all", [True, True, True]),
    ],
)
def test_notify_on_picks_the_failures_that_are_mailed(
    runtime: Runtime, ops: Ops, notify_on: str, expected: list[bool]
) -> None:
    _contacts(runtime, ops.design_id, notify_on)
    document = create_document(
        runtime, ops.account_id, [{"event": "document.created", "design_id": ops.design_id}]
    )
    (delivery,) = deliveries_of(runtime, document)
    noted = [
        _fail(runtime, delivery, attempt=1),
        _fail(runtime, delivery, attempt=2),
        _fail(runtime, delivery, state="failed", attempt=3),
    ]
    assert noted == expected


def test_design_without_contacts_sends_nothing(runtime: Runtime, ops: Ops) -> None:
    document = create_document(
        runtime, ops.account_id, [{"event": "document.created", "design_id": ops.design_id}]
    )
    (delivery,) = deliveries_of(runtime, document)
    assert _fail(runtime, delivery, state="failed") is False
    mailer = Mailer.from_settings(runtime.settings)
    assert alert_mail.send_due(runtime.database, mailer, clock.now()) == 0


def test_technical_contacts_hear_of_an_open_breaker_once(
    runtime: Runtime, ops: Ops, frozen: clock.FrozenClock
) -> None:
    spec = AlertSpec(
        account_id=ops.account_id,
        key="breaker:design:x",
        kind="breaker_open",
        message="The endpoint of design 'Ops recorder' failed 5 times in a row.",
        details={"destination_key": f"design:{ops.design_id}", "consecutive_failures": 5},
    )
    with runtime.database.transaction() as session:
        open_alert(session, spec, clock.now())
    mailer = Mailer.from_settings(runtime.settings)
    assert alert_mail.send_due(runtime.database, mailer, clock.now()) == 1
    frozen.advance(hours=1)
    assert alert_mail.send_due(runtime.database, mailer, clock.now()) == 0

    (message,) = _emails(runtime.settings.data_dir / "outbox")
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "DocRelay: a destination keeps failing; its retries are held"
    body = message.get_content()
    assert "failed 5 times in a row" in body
    assert f"Destination:   design:{ops.design_id}" in body
    assert "the first success releases the held retries in order" in body

    # Closed and opened again: a new alert, so a new email.
    with runtime.database.transaction() as session:
        close_alert(session, ops.account_id, spec.key, clock.now())
        open_alert(session, spec, clock.now())
    assert alert_mail.send_due(runtime.database, mailer, clock.now()) == 1


def test_header_values_with_line_breaks_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Subject"):
        check_header("Subject", "Failed\r\nBcc: victim@example.com")
    with pytest.raises(ValidationError, match="To"):
        build_message(
            sender="DocRelay <docrelay@localhost>",
            recipients=["ops@example.com\nBcc: victim@example.com"],
            subject="x",
            body="y",
        )
    message = build_message(
        sender="DocRelay <docrelay@localhost>", recipients=["a@example.com"], subject="ok", body="y"
    )
    assert message["Subject"] == "ok"


def test_smtp_url_must_use_smtp_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DOCRELAY_SMTP_URL"):
        Mailer("http://mail.example.test", tmp_path)
    assert Mailer(None, tmp_path).writes_files


def test_smtp_url_sends_through_the_server_with_login(tmp_path: Path) -> None:
    from smtp_sink import SmtpSink

    with SmtpSink() as sink:
        mailer = Mailer(f"smtp://alerts%40example.com:s3cret@127.0.0.1:{sink.port}", tmp_path)
        message = build_message(
            sender=mailer.sender, recipients=["ops@example.com"], subject="Test", body="Hello\n"
        )
        assert mailer.send(message) == "127.0.0.1"
    assert sink.logins == [("alerts@example.com", "s3cret")]
    ((_, recipients, data),) = sink.messages
    assert recipients == ["ops@example.com"]
    assert b"Subject: Test" in data
    assert not list(tmp_path.glob("*.eml"))


def test_worker_failures_reach_contacts_and_the_alert_list(
    runtime: Runtime, ops: Ops, user
) -> None:
    from delivery_factory import create_document as make_document
    from ops_destination import unavailable

    from docrelay.delivery import operations
    from docrelay.delivery.worker import drain

    _contacts(runtime, ops.design_id, "final")
    ops.recorder.decide = lambda job: unavailable()
    workflow = [{"event": "document.created", "design_id": ops.design_id}]
    for n in range(5):
        make_document(runtime, ops.account_id, workflow, name=f"Doc {n}")
    drain(runtime, 10, registry=ops.registry)  # five failures in a row: the breaker opens

    listed = user.client.get("/api/v1/alerts").json()["items"]
    assert [(item["kind"], item["key"]) for item in listed] == [
        ("breaker_open", f"breaker:design:{ops.design_id}")
    ]
    assert operations.send_alert_mails(runtime, "this-host:1") == 1  # the technical contacts
    assert operations.send_alert_mails(runtime, "other-host:2") == 0  # lease held elsewhere

    ops.recorder.decide = lambda job: AttemptOutcome(
        OutcomeKind.FAIL, error_class="http_422", message="Unknown field PO"
    )
    make_document(runtime, ops.account_id, workflow, name="Rejected")
    drain(runtime, 10, registry=ops.registry)  # a probe; it fails for good: a final failure
    assert operations.send_alert_mails(runtime, "this-host:1") == 1

    emails = _emails(runtime.settings.data_dir / "outbox")
    assert sorted(message["To"] for message in emails) == [
        "alice@example.com, bob@example.com",
        "ops@example.com",
    ]
    failure = next(message for message in emails if message["To"].startswith("alice"))
    body = failure.get_content()
    assert "Error:         http_422: Unknown field PO" in body
    assert "Deliveries waiting for this destination: 5" in body  # the held retries
    assert "Fix the cause named in the error above" in body
