"""The shipped Salesforce metadata describes the same object the emulator (and the writer) use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

import docrelay.emulators.salesforce
import docrelay.salesforce

NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
OBJECT_DIR = (
    Path(docrelay.salesforce.__file__).parent / "metadata" / "objects" / "DocRelay_Document__c"
)
EMULATOR_OBJECTS = Path(docrelay.emulators.salesforce.__file__).parent / "objects.json"

TYPES = {
    "Text": "string",
    "Picklist": "picklist",
    "DateTime": "datetime",
    "Number": "double",
    "Lookup": "reference",
}


def _text(element: Any, tag: str) -> str | None:
    found = element.find(f"md:{tag}", NS)
    return None if found is None else found.text


def _fields() -> dict[str, Any]:
    parsed = {}
    for path in sorted((OBJECT_DIR / "fields").glob("*.field-meta.xml")):
        root = ElementTree.parse(path).getroot()
        assert root.tag == f"{{{NS['md']}}}CustomField", path.name
        name = _text(root, "fullName")
        assert path.name == f"{name}.field-meta.xml"
        parsed[name] = root
    return parsed


def test_object_file_names_the_document_object() -> None:
    root = ElementTree.parse(OBJECT_DIR / "DocRelay_Document__c.object-meta.xml").getroot()
    emulated = json.loads(EMULATOR_OBJECTS.read_text())["DocRelay_Document__c"]
    assert root.tag == f"{{{NS['md']}}}CustomObject"
    assert _text(root, "label") == emulated["label"]
    assert _text(root, "deploymentStatus") == "Deployed"
    name_field = root.find("md:nameField", NS)
    assert name_field is not None and _text(name_field, "type") == "Text"


def test_fields_match_the_emulator_definition() -> None:
    emulated = json.loads(EMULATOR_OBJECTS.read_text())["DocRelay_Document__c"]["fields"]
    fields = _fields()
    assert set(fields) == set(emulated) - {"Name"}

    for name, root in fields.items():
        spec = emulated[name]
        kind = _text(root, "type")
        assert TYPES[kind or ""] == spec["type"], name
        if kind == "Text":
            assert int(_text(root, "length") or 0) == spec["length"], name
        if kind == "Number":
            assert int(_text(root, "precision") or 0) == spec["precision"], name
            assert int(_text(root, "scale") or -1) == spec["scale"], name
        if kind == "Lookup":
            assert [_text(root, "referenceTo")] == spec["referenceTo"], name
        assert (_text(root, "externalId") == "true") == bool(spec.get("externalId")), name
        assert (_text(root, "unique") == "true") == bool(spec.get("unique")), name


def test_status_picklist_is_restricted_to_the_status_codes() -> None:
    emulated = json.loads(EMULATOR_OBJECTS.read_text())["DocRelay_Document__c"]["fields"]
    status = _fields()["Status__c"]
    value_set = status.find("md:valueSet", NS)
    assert value_set is not None
    assert _text(value_set, "restricted") == "true"
    codes = [
        _text(value, "fullName")
        for value in value_set.findall("md:valueSetDefinition/md:value", NS)
    ]
    assert codes == emulated["Status__c"]["values"]
