"""A document signed end to end, with JSON and SOAP web notifications attached to its events."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from hook_receiver import HookReceiver
from standardwebhooks import Webhook
from webhook_flow import (
    attach,
    create_document,
    create_template,
    create_webhook_design,
    deliveries,
    drain,
    enable_tracking,
    send_document,
    sign,
    signing_paths,
)

JSON_BODY = """{
  "event": "[Event]",
  "label": "[Event Name]",
  "event_id": "[Event ID]",
  "document": {"id": "[Document ID]", "name": "[Document Name]", "status": "[Document Status]",
               "status_name": "[Document Status Name]", "sequence": "[Document Sequence]"},
  "order": "[Order Number]",
  "template": "[Template Name]",
  "company": "[Company Name]",
  "signers": ["[Signatory 1 Full Name]", "[Signatory 2 Full Name]"],
  "second_status": "[Signatory 2 Status]"
}"""

SOAP_BODY = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <Notify xmlns="urn:docrelay">
      <Event>[Event]</Event>
      <DocumentId>[Document ID]</DocumentId>
      <Name>[Document Name]</Name>
      <Signer name="[Signatory 2 Full Name]"/>
    </Notify>
  </soap:Body>
</soap:Envelope>"""

EVENTS = [
    "document.created",
    "document.started",
    "step.started",
    "landing_page.visited",
    "step.completed",
    "document.completed",
]
DOCUMENT_NAME = 'Agreement "42" <A&B>'


def _run_document(runtime, user) -> str:
    # Drain after every step, as a running worker sends each event soon after it happens.
    # Otherwise a newer status-only delivery would supersede a waiting one.
    template_id = user.template_id
    document = create_document(user.client, template_id)
    drain(runtime)
    send_document(user.client, document["id"])
    drain(runtime)
    paths = signing_paths(user.client, document["id"])
    sign(user.client, paths[0], "Dana Customer")
    drain(runtime)
    result = sign(user.client, paths[1], "Sam Seller")
    assert result["document_status"] == "DCO"
    return str(document["id"])


def _setup(runtime, user, name: str, config: dict) -> tuple[str, str]:
    enable_tracking(runtime, user.account_id)
    user.template_id = create_template(user.client)
    design_id, secret = create_webhook_design(runtime, user, name, config)
    attach(
        user,
        user.template_id,
        design_id,
        *({"event": event} for event in EVENTS),
    )
    return design_id, secret


def test_json_design_signs_events_in_order(runtime, user, hook_receiver: HookReceiver) -> None:
    design_id, secret = _setup(
        runtime,
        user,
        "CRM hook",
        {
            "url": hook_receiver.url("/json"),
            "body_template": JSON_BODY,
            "headers": {"X-Doc": "[Document ID]"},
        },
    )
    document_id = _run_document(runtime, user)
    drain(runtime)

    received = hook_receiver.at("/json")
    rows = deliveries(runtime, design_id)
    assert [row.state for row in rows] == ["delivered"] * len(rows)
    assert [request.header("webhook-id") for request in received] == [row.id for row in rows]

    verifier = Webhook(secret)
    payloads = [verifier.verify(request.body, request.headers) for request in received]
    observed = [payload["event"] for payload in payloads]
    # One step.started per step and one landing visit per signatory, all in sequence order.
    assert observed == [
        "document.created",
        "document.started",
        "step.started",
        "landing_page.visited",
        "step.completed",
        "step.started",
        "landing_page.visited",
        "step.completed",
        "document.completed",
    ]
    sequences = [int(payload["document"]["sequence"]) for payload in payloads]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)
    first, last = payloads[0], payloads[-1]
    assert first["document"] == {
        "id": document_id,
        "name": DOCUMENT_NAME,
        "status": "DCR",
        "status_name": "Created",
        "sequence": "1",
    }
    assert first["label"] == "Document Created"
    assert first["signers"] == ['Dana "Quote" Customer', "Sam <Seller> & Co"]
    assert first["order"] == "SO-42"
    assert first["template"] == "Services agreement"
    assert first["company"] == "Acme Corp"
    assert last["document"]["status"] == "DCO"
    assert last["second_status"] == "signed"
    assert all(request.header("X-Doc") == document_id for request in received)
    assert all(
        request.header("Content-Type") == "application/json; charset=utf-8" for request in received
    )


def test_soap_design_sends_escaped_xml_with_soap_action(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    _design_id, secret = _setup(
        runtime,
        user,
        "ERP SOAP",
        {
            "url": hook_receiver.url("/soap"),
            "content_type": "text/xml",
            "soap_action": "urn:docrelay/Notify",
            "body_template": SOAP_BODY,
        },
    )
    document_id = _run_document(runtime, user)
    drain(runtime)

    received = hook_receiver.at("/soap")
    assert len(received) == 9
    namespace = {"soap": "http://schemas.xmlsoap.org/soap/envelope/", "d": "urn:docrelay"}
    events = []
    for request in received:
        Webhook(secret).verify(request.body, request.headers, json_parse=False)
        assert request.header("SOAPAction") == '"urn:docrelay/Notify"'
        assert request.header("Content-Type") == "text/xml; charset=utf-8"
        notify = ET.fromstring(request.body).find("soap:Body/d:Notify", namespace)
        assert notify is not None
        assert notify.findtext("d:DocumentId", namespaces=namespace) == document_id
        assert notify.findtext("d:Name", namespaces=namespace) == DOCUMENT_NAME
        signer = notify.find("d:Signer", namespace)
        assert signer is not None
        assert signer.get("name") == "Sam <Seller> & Co"
        events.append(notify.findtext("d:Event", namespaces=namespace))
    assert events[0] == "document.created"
    assert events[-1] == "document.completed"
    assert b"&lt;A&amp;B&gt;" in received[0].body


def test_json_escaping_keeps_tag_lookalikes_as_text(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    enable_tracking(runtime, user.account_id)
    user.template_id = create_template(user.client)
    design_id, secret = create_webhook_design(
        runtime,
        user,
        "Escaping",
        {"url": hook_receiver.url("/esc"), "body_template": '{"name": "[Document Name]"}'},
    )
    attach(user, user.template_id, design_id, {"event": "document.created"})
    tricky = 'Line\nbreak "[Document ID]" \\ \u2028 end'
    create_document(
        user.client, user.template_id, name=tricky.replace("\n", " ").replace("\u2028", " ")
    )
    drain(runtime)
    (request,) = hook_receiver.at("/esc")
    payload = json.loads(request.body)
    assert payload["name"] == tricky.replace("\n", " ").replace("\u2028", " ")
    assert "[Document ID]" in payload["name"]
    Webhook(secret).verify(request.body, request.headers)
