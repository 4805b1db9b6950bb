"""The event catalogue: names, labels, payload models and delivery classes."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from docrelay.webhooks.events import (
    EVENT_LABELS,
    EVENT_TYPES,
    FACT_EVENTS,
    FILE_EVENTS,
    PAYLOAD_MODELS,
    STATUS_EVENTS,
    event_data_fields,
    is_supersedable,
)


def test_twelve_events_in_order() -> None:
    assert len(EVENT_TYPES) == 12
    assert EVENT_TYPES[0] == "document.created"
    assert EVENT_TYPES[-1] == "signer.authentication_failed"
    assert len(set(EVENT_TYPES)) == 12


def test_every_event_has_label_and_model() -> None:
    assert list(EVENT_LABELS) == list(EVENT_TYPES)
    assert list(PAYLOAD_MODELS) == list(EVENT_TYPES)
    assert EVENT_LABELS["step.started"] == "Before Step Started"


def test_status_and_fact_events_partition() -> None:
    assert set(EVENT_TYPES) == STATUS_EVENTS | FACT_EVENTS
    assert not STATUS_EVENTS & FACT_EVENTS
    assert {"document.completed"} == FILE_EVENTS
    assert is_supersedable("document.started")
    assert not is_supersedable("document.completed")
    assert not is_supersedable("landing_page.visited")


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ("document.created", ()),
        ("step.started", ("step",)),
        ("step.completed", ("step",)),
        ("landing_page.visited", ("signatory", "step")),
        ("document.declined", ("signatory", "reason")),
        ("document.pre_expiration_warning", ("days_before",)),
        ("signer.feedback_submitted", ("signatory", "feedback")),
        ("signer.authentication_failed", ("signatory",)),
    ],
)
def test_event_data_fields(event: str, fields: tuple[str, ...]) -> None:
    assert event_data_fields(event) == fields


def common(event: str) -> dict[str, object]:
    return {
        "event_id": "evt_1",
        "event": event,
        "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "document_id": "doc_1",
        "sequence": 3,
        "status": "DSD",
        "status_name": "Declined",
        "account": {"context_id": "00000000-0000-4000-8000-000000000000"},
        "crm": {"object_type": "Lead", "record_id": "00Q000000000001AAA"},
    }


def test_declined_payload_round_trip() -> None:
    model = PAYLOAD_MODELS["document.declined"]

    payload = model.model_validate(
        {**common("document.declined"), "data": {"signatory": 2, "reason": "No"}}
    )

    dumped = payload.model_dump(mode="json")
    assert dumped["occurred_at"] == "2026-01-01T00:00:00Z"
    assert dumped["data"] == {"signatory": 2, "reason": "No"}
    assert dumped["crm"]["system"] == "salesforce"


def test_payload_rejects_missing_data_and_wrong_event() -> None:
    model = PAYLOAD_MODELS["step.started"]

    with pytest.raises(pydantic.ValidationError):
        model.model_validate(common("step.started"))
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**common("document.created"), "data": {"step": 1}})


def test_models_publish_json_schema() -> None:
    for model in PAYLOAD_MODELS.values():
        schema = model.model_json_schema()
        assert "event_id" in schema["properties"]
        assert "account" in schema["required"]
