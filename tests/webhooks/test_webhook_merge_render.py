"""Rendering templates with merge fields, byte for byte, and sending the result."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import defusedxml.ElementTree
import pytest
from webhook_harness import Receiver, send_once

from docrelay.errors import ValidationError
from docrelay.webhooks.merge import (
    MergeSource,
    SignatoryValues,
    build_merge_values,
    render,
    render_headers,
    sample_merge_source,
)
from docrelay.webhooks.merge_fields import catalogue_tag_names
from docrelay.webhooks.sender import WebhookRequest

# Quotes, backslash, markup, a newline, non-ASCII, a control character and a tag.
NASTY = 'O\'Neil "Q" \\ <b>&amp; x\ny é 漢 \x01 [Document ID]'
VALUES = {"Document Name": NASTY, "Document ID": "doc_1", "Signatory 1 Full Name": "Zoë"}


def test_json_escaping() -> None:
    template = '{"name": "[Document Name]", "id": "[Document ID]", "n": [1, 2]}'

    rendered = render(template, VALUES, "application/json")

    assert rendered == (
        '{"name": "O\'Neil \\"Q\\" \\\\ <b>&amp; x\\ny é 漢 \\u0001 [Document ID]", '
        '"id": "doc_1", "n": [1, 2]}'
    )
    assert json.loads(rendered)["name"] == NASTY


def test_json_line_separators_escaped() -> None:
    rendered = render('{"a": "[Feedback]"}', {"Feedback": "x\u2028y\u2029z"}, "application/json")

    assert rendered == '{"a": "x\\u2028y\\u2029z"}'


def test_json_tag_outside_string_left_alone() -> None:
    rendered = render('{"a": [Document ID]}', VALUES, "application/json")

    assert rendered == '{"a": [Document ID]}'


def test_xml_escaping_text_and_attribute() -> None:
    template = '<doc id="[Document ID]" name="[Document Name]"><name>[Document Name]</name></doc>'

    rendered = render(template, VALUES, "application/xml")

    text = "O&apos;Neil &quot;Q&quot; \\ &lt;b&gt;&amp;amp; x\ny é 漢  [Document ID]"
    attribute = text.replace("\n", "&#10;")
    assert rendered == (f'<doc id="doc_1" name="{attribute}"><name>{text}</name></doc>')
    root = defusedxml.ElementTree.fromstring(rendered)
    assert root.get("name") == NASTY.replace("\x01", "")
    assert root.findtext("name") == NASTY.replace("\x01", "")


def test_xml_removes_forbidden_characters() -> None:
    value = "a\x00b\x08c\x0bd\x1fe\ufffef\tg\rh"

    rendered = render("<a>[Feedback]</a>", {"Feedback": value}, "text/xml")

    assert rendered == "<a>abcdef\tg&#13;h</a>"


def test_xml_cdata_section() -> None:
    template = "<a><![CDATA[[Document Name]]]></a>"
    values = {"Document Name": "x]]>y <&> \x02"}

    rendered = render(template, values, "application/xml")

    assert rendered == "<a><![CDATA[x]]]]><![CDATA[>y <&> ]]></a>"
    assert defusedxml.ElementTree.fromstring(rendered).text == "x]]>y <&> "


def test_xml_comment_not_merged() -> None:
    rendered = render("<a><!-- [Document ID] -->[Document ID]</a>", VALUES, "application/xml")

    assert rendered == "<a><!-- [Document ID] -->doc_1</a>"


SOAP_TEMPLATE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <DocumentEvent xmlns="urn:example:docrelay">
      <DocumentId>[Document ID]</DocumentId>
      <Name>[Document Name]</Name>
      <Signer>[Signatory 1 Full Name]</Signer>
    </DocumentEvent>
  </soap:Body>
</soap:Envelope>"""


def test_soap_request_on_the_wire(receiver: Receiver) -> None:
    body = render(SOAP_TEMPLATE, VALUES, "text/xml").encode()
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"urn:example:docrelay/Notify"',
    }

    result = send_once(WebhookRequest("POST", receiver.url("/soap"), headers, body, 5))
    received = receiver.requests[0]

    assert result.status == 200
    assert received.body == body
    assert received.headers["SOAPAction"] == '"urn:example:docrelay/Notify"'
    assert b"<Signer>Zo\xc3\xab</Signer>" in received.body
    assert b"&lt;b&gt;&amp;amp;" in received.body
    namespace = "{urn:example:docrelay}"
    root = defusedxml.ElementTree.fromstring(received.body)
    assert root.findtext(f".//{namespace}Name") == NASTY.replace("\x01", "")


def test_text_plain_unescaped() -> None:
    rendered = render("Doc [Document ID]: [Document Name]!", VALUES, "text/plain")

    assert rendered == f"Doc doc_1: {NASTY}!"


@pytest.mark.parametrize("content_type", ["application/json", "application/xml", "text/plain"])
def test_tag_in_value_stays_text(content_type: str) -> None:
    values = {"Feedback": "[Authentication - Password]", "Authentication - Password": "s3cret"}
    template = '{"f": "[Feedback]"}' if content_type == "application/json" else "<f>[Feedback]</f>"

    rendered = render(template, values, content_type)

    assert "[Authentication - Password]" in rendered
    assert "s3cret" not in rendered


def test_missing_signatory_renders_empty() -> None:
    values = build_merge_values(sample_merge_source())

    rendered = render("[Signatory 2 Full Name]|[Signatory 7 Full Name]|", values, "text/plain")

    assert rendered == "Grace Sample||"


@pytest.mark.parametrize("content_type", ["application/json", "text/xml", "text/plain"])
def test_wire_bytes_match_render(receiver: Receiver, content_type: str) -> None:
    templates = {
        "application/json": '{"doc": "[Document Name]"}',
        "text/xml": "<doc>[Document Name]</doc>",
        "text/plain": "doc=[Document Name]",
    }
    body = render(templates[content_type], VALUES, content_type).encode()

    send_once(WebhookRequest("PUT", receiver.url(), {"Content-Type": content_type}, body, 5))

    assert receiver.requests[0].method == "PUT"
    assert receiver.requests[0].body == body


def test_headers_rendered_without_escaping() -> None:
    headers = render_headers({"X-Doc": "[Document ID] <[Signatory 1 Full Name]>"}, VALUES)

    assert headers == {"X-Doc": "doc_1 <Zoë>"}


@pytest.mark.parametrize("breaker", ["\r", "\n", "\u2028", "\u0085", "\x00"])
def test_header_line_break_rejected(breaker: str) -> None:
    with pytest.raises(ValidationError) as caught:
        render_headers({"X-Name": "n=[Document Name]"}, {"Document Name": f"a{breaker}b"})

    assert caught.value.errors[0][0] == "headers.X-Name"


def completed_source() -> MergeSource:
    at = dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    return MergeSource(
        event_type="document.declined",
        event_id="evt_9",
        event_time=at,
        sequence=7,
        event_data={"signatory": 2, "reason": "Wrong amount"},
        document_id="doc_9",
        document_name="Lease",
        status="DSD",
        status_name="Declined",
        created_at=at - dt.timedelta(days=1),
        template_name="Lease template",
        company_name="Acme",
        account_context_id="ctx",
        signatories=(
            SignatoryValues("Ann", "ann@example.com", "signed"),
            SignatoryValues("Bob", "bob@example.com", "declined", "+1555"),
        ),
        parameters={"Rent": "900", "Signatory 1 Access Code": "1234", "Document ID": "spoof"},
        completed_pdf=b"%PDF-1.7",
        tracking_username="u",
        tracking_password="p",
    )


def test_build_merge_values() -> None:
    values = build_merge_values(completed_source())

    assert values["Document ID"] == "doc_9"
    assert values["Event Time"] == "2026-02-03T04:05:06Z"
    assert values["Document Creation Date"] == "2026-02-02T04:05:06Z"
    assert values["Document Start Date"] == ""
    assert values["Document Sequence"] == "7"
    assert values["Event Name"] == "Document Declined"
    assert values["Decline Reason"] == "Wrong amount"
    assert values["Acting Signatory Full Name"] == "Bob"
    assert values["Signatory 2 Phone Number"] == "+1555"
    assert values["Rent"] == "900"
    assert "Signatory 1 Access Code" not in values
    assert values["Completed Document Base64"] == base64.b64encode(b"%PDF-1.7").decode()
    assert values["Completed Document SHA-256"] == hashlib.sha256(b"%PDF-1.7").hexdigest()
    assert values["Authentication - Password"] == "p"


def test_every_catalogue_tag_has_a_value() -> None:
    values = build_merge_values(sample_merge_source())
    signatory_count = len(sample_merge_source().signatories)

    for name in catalogue_tag_names():
        if name.startswith("Signatory ") and int(name.split()[1]) > signatory_count:
            continue
        assert name in values, name
