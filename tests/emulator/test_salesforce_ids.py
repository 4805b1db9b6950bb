"""Salesforce record ids: checksum vectors and validation messages."""

from __future__ import annotations

import pytest

from docrelay.errors import ValidationError
from docrelay.salesforce.ids import (
    KEY_PREFIXES,
    id_core,
    is_valid_id,
    same_id,
    to_18,
    validate_record_id,
)


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("0036000000QKv5T", "0036000000QKv5TAAT"),  # Salesforce's LongSFID documentation
        ("a0BA0000000L2ZC", "a0BA0000000L2ZCMA0"),
        ("70130000001tcyI", "70130000001tcyIAAQ"),
        ("001550V000WOQZi", "001550V000WOQZiACP"),
        ("AAaAAbbBBBCcCCC", "AAaAAbbBBBCcCCC123"),
    ],
)
def test_checksum_vectors(id15: str, id18: str) -> None:
    assert to_18(id15) == id18
    assert to_18(id18) == id18
    assert is_valid_id(id18)
    assert id_core(id18) == id15


def test_checksum_case_insensitive_suffix() -> None:
    assert is_valid_id("0036000000QKv5Taat")


@pytest.mark.parametrize(
    "value",
    [
        "0036000000QKv5TAAA",
        "0036000000QKv5",
        "0036000000QKv5T-AT",
        "0036000000qkv5tAAT",
        "",
        None,
        15,
    ],
)
def test_invalid_ids(value: object) -> None:
    assert is_valid_id(value) is False


def test_same_id_compares_core() -> None:
    assert same_id("0036000000QKv5T", "0036000000QKv5TAAT")
    assert not same_id("0036000000QKv5T", "0036000000QKv5t")


def test_validate_returns_18_chars() -> None:
    assert validate_record_id("00Q5D0000000003", "Lead") == "00Q5D0000000003UAA"


@pytest.mark.parametrize(
    ("value", "object_type", "fragment"),
    [
        ("00Q5D00000", "Lead", "length is 10"),
        ("00Q5D00000000!3", "Lead", "characters"),
        ("0036000000QKv5TAAA", "Contact", "checksum"),
        ("0036000000QKv5TAAT", "Lead", "key prefix '003'"),
        (42, "Lead", "string"),
    ],
)
def test_validate_reasons(value: object, object_type: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_record_id(value, object_type)

    assert raised.value.errors[0][0] == "record_id"
    assert fragment in raised.value.errors[0][1]


def test_validate_unknown_object_type() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_record_id("00Q5D0000000003", "Widget__c")

    assert raised.value.errors[0][0] == "object_type"


def test_validate_custom_prefix_from_configuration() -> None:
    assert (
        validate_record_id("a0BA0000000L2ZC", "Widget__c", {"Widget__c": "a0B"})
        == "a0BA0000000L2ZCMA0"
    )


def test_standard_prefixes() -> None:
    assert KEY_PREFIXES["Lead"] == "00Q"
    assert KEY_PREFIXES["ContentDocumentLink"] == "06A"
    assert KEY_PREFIXES["DocRelay_Document__c"] == "a01"
