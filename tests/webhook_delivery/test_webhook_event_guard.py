"""Guards over the event catalogue: labels, published payload schemas, tests that cover each event."""

from __future__ import annotations

from pathlib import Path

import pytest

from docrelay.documents import events as document_events
from docrelay.webhooks.events import EVENT_LABELS, EVENT_TYPES, PAYLOAD_MODELS
from docrelay.webhooks.openapi import payload_schema_name

TESTS_DIR = Path(__file__).resolve().parents[1]


def test_every_event_has_one_label_everywhere() -> None:
    assert set(EVENT_LABELS) == set(EVENT_TYPES) == set(PAYLOAD_MODELS)
    assert document_events.EVENT_TYPES == EVENT_TYPES
    assert document_events.EVENT_LABELS == EVENT_LABELS
    assert all(label.strip() for label in EVENT_LABELS.values())


def test_openapi_publishes_every_payload_schema(user) -> None:
    document = user.client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for event_type in EVENT_TYPES:
        schema = schemas[payload_schema_name(event_type)]
        assert schema["x-event"] == event_type
        assert {"event_id", "event", "occurred_at", "document_id", "sequence", "status"} <= set(
            schema["properties"]
        )
        target = document["webhooks"][event_type]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert target["$ref"].endswith("/" + payload_schema_name(event_type))
    declined = schemas[payload_schema_name("document.declined")]
    data_ref = declined["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[data_ref]["properties"]) == {"signatory", "reason"}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_some_test_emits_the_event(event_type: str) -> None:
    # The end-to-end run asserts that every type reaches a receiver. This check makes
    # sure that a new event type also gets a test that names it.
    needle = f'"{event_type}"'
    users = [
        path
        for path in TESTS_DIR.rglob("test_*.py")
        if path.name != Path(__file__).name and needle in path.read_text(encoding="utf-8")
    ]
    assert users, f"no test mentions {event_type}; add one that makes the service emit it"
