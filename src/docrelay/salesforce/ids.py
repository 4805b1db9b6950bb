"""Salesforce record ids: key prefixes, the 18-character checksum and validation.

A record id is 15 case-sensitive characters: a 3-character key prefix naming the
object type, 2 characters for the instance, 1 reserved and 9 for the record
number. The API returns an 18-character form that appends a checksum of the
letter case, so tools that fold case can still tell ids apart.

The checksum splits the 15 characters into three blocks of five. For each
block, bit ``j`` of a 5-bit number is set when the block's ``j``-th character
is an uppercase letter ``A``-``Z``; the number indexes ``A``-``Z0``-``5``.
Example: ``0036000000QKv5T`` becomes ``0036000000QKv5TAAT``.

NOTE: an 18-character id is matched on its case-sensitive 15-character core,
so an 18-character id whose core was folded to lower case fails the checksum
here, although Salesforce itself would accept it.
"""

from __future__ import annotations

import string

from docrelay.errors import ValidationError

KEY_PREFIXES: dict[str, str] = {
    "Lead": "00Q",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "User": "005",
    "Folder": "00l",
    "Document": "015",
    "Attachment": "00P",
    "ContentVersion": "068",
    "ContentDocument": "069",
    "ContentDocumentLink": "06A",
    "DocRelay_Document__c": "a01",
}
"""Key prefix of each object type DocRelay writes to or links records to.

Standard prefixes are the same in every org. A custom object's prefix is chosen
by its org. ``a01`` is the prefix the DocRelay emulator assigns. A real org's
prefix comes from configuration (see the ``key_prefixes`` arguments below).
"""

_CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"
_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits)


def checksum(id15: str) -> str:
    """Return the 3-character case checksum of a 15-character id."""
    suffix = []
    for block_start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[block_start : block_start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def to_18(id15: str) -> str:
    """Convert a 15-character id to its 18-character form; 18-character input is checked."""
    problem = _problem(id15)
    if problem is not None:
        raise ValueError(f"invalid Salesforce id {id15!r}: {problem}")
    return id15[:15] + checksum(id15[:15])


def is_valid_id(value: object) -> bool:
    """Tell whether ``value`` is a 15-character id or an 18-character id with a correct checksum."""
    return isinstance(value, str) and _problem(value) is None


def id_core(value: str) -> str:
    """Return the case-sensitive 15-character core that identifies the record."""
    problem = _problem(value)
    if problem is not None:
        raise ValueError(f"invalid Salesforce id {value!r}: {problem}")
    return value[:15]


def same_id(left: str, right: str) -> bool:
    """Tell whether two ids (15 or 18 characters) name the same record."""
    return is_valid_id(left) and is_valid_id(right) and left[:15] == right[:15]


def validate_record_id(
    value: object,
    object_type: str,
    key_prefixes: dict[str, str] | None = None,
) -> str:
    """Check that ``value`` is an id of an ``object_type`` record and return its 18-character form.

    ``key_prefixes`` adds or overrides prefixes, for custom objects whose prefix
    depends on the org. Raises :class:`ValidationError` naming ``record_id``.
    """
    if not isinstance(value, str):
        raise ValidationError.for_field("record_id", "must be a string of 15 or 18 characters")
    problem = _problem(value)
    if problem is not None:
        raise ValidationError.for_field("record_id", f"{value!r} is not a Salesforce id: {problem}")

    prefixes = {**KEY_PREFIXES, **(key_prefixes or {})}
    expected = prefixes.get(object_type)
    if expected is None:
        known = ", ".join(sorted(prefixes))
        raise ValidationError.for_field(
            "object_type", f"unknown object type {object_type!r}; expected one of: {known}"
        )
    if value[:3] != expected:
        raise ValidationError.for_field(
            "record_id",
            f"key prefix {value[:3]!r} of {value!r} does not match object type {object_type} "
            f"(its ids start with {expected!r}); check the record id or the object type",
        )
    return value[:15] + checksum(value[:15])


def _problem(value: str) -> str | None:
    """Describe what makes ``value`` an invalid id, or return None when it is valid."""
    if len(value) not in (15, 18):
        return f"length is {len(value)}, expected 15 or 18 characters"
    if not set(value) <= _ID_CHARACTERS:
        return "contains characters other than ASCII letters and digits"
    if len(value) == 18 and value[15:].upper() != checksum(value[:15]):
        return f"checksum {value[15:]!r} is wrong, expected {checksum(value[:15])!r}"
    return None
