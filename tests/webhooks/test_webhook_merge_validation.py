"""Validation of design templates when a design is saved."""

from __future__ import annotations

import pytest

from docrelay.errors import ValidationError
from docrelay.webhooks.merge import validate_design_templates

JSON = "application/json"
XML = "application/xml"


def errors_for(
    body: str,
    content_type: str = JSON,
    headers: dict[str, str] | None = None,
    allowed_events: list[str] | None = None,
    parameter_names: set[str] | None = None,
) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        validate_design_templates(
            content_type, body, headers or {}, allowed_events, parameter_names
        )
    return caught.value.errors


def test_valid_templates_pass() -> None:
    validate_design_templates(
        JSON,
        '{"id": "[Document ID]", "s": "[Signatory 50 Email Address]", "r": "[Rent]", "a": [1]}',
        {"X-Doc": "[Document ID]", "X-Auth-User": "[Authentication - Username]"},
        ["document.completed"],
        {"Rent"},
    )
    validate_design_templates(
        XML,
        '<?xml version="1.0" encoding="UTF-8"?><a k="[Document Name]"><![CDATA[[Feedback]]]></a>',
        {},
        ["signer.feedback_submitted"],
        None,
    )
    validate_design_templates("text/plain", "[Step] of [Document Name]", {}, ["step.started"], None)


def test_unknown_tag_named_with_suggestion() -> None:
    errors = errors_for('{"a": "[Document Nmae]"}')

    assert errors == [
        ("body_template", "unknown merge field [Document Nmae]; did you mean [Document Name]?")
    ]


def test_unknown_parameter_rejected_without_names() -> None:
    errors = errors_for('{"a": "[Rent]"}')

    assert errors[0][0] == "body_template"
    assert "[Rent]" in errors[0][1]


def test_signatory_number_out_of_range() -> None:
    errors = errors_for('{"a": "[Signatory 51 Full Name]"}')

    assert "unknown merge field [Signatory 51 Full Name]" in errors[0][1]


def test_access_code_never_available() -> None:
    errors = errors_for(
        '{"a": "[Signatory 1 Access Code]"}', parameter_names={"Signatory 1 Access Code"}
    )

    assert "access codes" in errors[0][1]


def test_completed_only_tag_without_allowed_events() -> None:
    errors = errors_for('{"pdf": "[Completed Document Base64]"}')

    assert errors[0][0] == "body_template"
    assert "[Completed Document Base64]" in errors[0][1]
    assert "allowed_events" in errors[0][1]


def test_completed_only_tag_with_other_event() -> None:
    errors = errors_for(
        '{"pdf": "[Completed Document SHA-256]"}',
        allowed_events=["document.completed", "document.expired"],
    )

    assert "not available for document.expired" in errors[0][1]


def test_completed_only_tag_allowed_for_completed() -> None:
    validate_design_templates(
        JSON, '{"pdf": "[Completed Document Base64]"}', {}, ["document.completed"], None
    )


def test_event_specific_tags() -> None:
    errors = errors_for(
        '{"r": "[Decline Reason]", "s": "[Step]"}', allowed_events=["document.declined"]
    )

    assert len(errors) == 1
    assert "[Step]" in errors[0][1]


def test_json_invalid_after_rendering() -> None:
    errors = errors_for('{"a": "[Document ID]",}')

    assert errors[0][0] == "body_template"
    assert "not valid JSON" in errors[0][1]


def test_json_tag_outside_string() -> None:
    errors = errors_for('{"seq": [Document Sequence]}')

    assert 'inside a JSON string literal, e.g. "[Document Sequence]"' in errors[0][1]


def test_json_array_brackets_are_not_tags() -> None:
    validate_design_templates(JSON, '{"a": [true, null], "b": [{"c": "[Event]"}]}', {}, None, None)


def test_xml_not_well_formed() -> None:
    errors = errors_for("<a><b>[Document ID]</a>", XML)

    assert errors[0][0] == "body_template"
    assert "not well-formed XML" in errors[0][1]


def test_xml_tag_in_element_name_breaks_it() -> None:
    errors = errors_for("<[Document ID]>x</[Document ID]>", XML)

    assert "not well-formed XML" in errors[0][1]


def test_xml_doctype_rejected() -> None:
    errors = errors_for('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', XML)

    assert "not well-formed XML" in errors[0][1]


def test_xml_declared_encoding_must_be_utf8() -> None:
    errors = errors_for('<?xml version="1.0" encoding="ISO-8859-1"?><a/>', XML)

    assert "ISO-8859-1" in errors[0][1]


def test_header_errors_name_the_header() -> None:
    errors = errors_for(
        "{}",
        headers={
            "X-Pdf": "[Completed Document Base64]",
            "X-Typo": "[Documnet ID]",
            "Content-Length": "5",
            "Bad Name": "x",
            "X-Break": "a\r\nInjected: 1",
        },
        allowed_events=["document.completed"],
    )

    fields = [field for field, _ in errors]
    assert fields == [
        "headers.X-Pdf",
        "headers.X-Typo",
        "headers.Content-Length",
        "headers.Bad Name",
        "headers.X-Break",
    ]
    assert "too large for a header" in errors[0][1]


def test_unsupported_content_type() -> None:
    errors = errors_for("{}", "application/x-www-form-urlencoded")

    assert errors[0][0] == "content_type"


def test_all_problems_reported_together() -> None:
    errors = errors_for('{"a": "[Nope]", "b": "[Feedback]"}', headers={"X-A": "[Also Nope]"})

    assert len(errors) == 3
