"""Metadata resources: versions list, resource list, describe, describeGlobal and limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docrelay.emulators.salesforce.schema import FieldSpec, ObjectSpec

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

MIN_VERSION = 31
MAX_VERSION = 66
_SEASONS = ("Winter", "Spring", "Summer")


def versions() -> list[dict[str, str]]:
    """List the API versions served, labelled by release (59.0 is Winter '24)."""
    listed = []
    for major in range(MIN_VERSION, MAX_VERSION + 1):
        offset = major - 59
        year = 24 + offset // 3
        label = f"{_SEASONS[offset % 3]} '{year:02d}"
        listed.append(
            {"label": label, "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        )
    return listed


def resources(version: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    return {
        "sobjects": f"{base}/sobjects",
        "query": f"{base}/query",
        "queryAll": f"{base}/queryAll",
        "composite": f"{base}/composite",
        "limits": f"{base}/limits",
    }


def describe_global(org: Org, version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_object_summary(spec, version) for spec in org.schema.objects.values()],
    }


def basic_info(spec: ObjectSpec, version: str) -> dict[str, Any]:
    return {"objectDescribe": _object_summary(spec, version), "recentItems": []}


def describe(spec: ObjectSpec, version: str) -> dict[str, Any]:
    body = _object_summary(spec, version)
    body["fields"] = [_describe_field(field) for field in spec.fields.values()]
    return body


def limits(org: Org) -> dict[str, Any]:
    used, allocation = org.api_usage()
    return {
        "DailyApiRequests": {"Max": allocation, "Remaining": max(allocation - used, 0)},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 10240, "Remaining": 10240},
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
    }


def _object_summary(spec: ObjectSpec, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{spec.name}"
    return {
        "name": spec.name,
        "label": spec.label,
        "labelPlural": spec.label + "s",
        "keyPrefix": spec.key_prefix,
        "custom": spec.name.endswith("__c"),
        "createable": spec.createable,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "retrieveable": True,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def _describe_field(field: FieldSpec) -> dict[str, Any]:
    return {
        "name": field.name,
        "label": field.name.removesuffix("__c").replace("_", " "),
        "type": field.type,
        "length": field.length,
        "precision": field.precision,
        "scale": field.scale,
        "nillable": not field.required and field.name != "Id",
        "createable": field.createable,
        "updateable": field.updateable,
        "custom": field.name.endswith("__c"),
        "externalId": field.external_id,
        "unique": field.unique,
        "caseSensitive": field.case_sensitive,
        "idLookup": field.name == "Id" or field.external_id,
        "defaultValue": field.default if field.type != "picklist" else None,
        "restrictedPicklist": field.restricted,
        "picklistValues": [
            {"active": True, "defaultValue": value == field.default, "label": value, "value": value}
            for value in field.values
        ],
        "referenceTo": [t for t in field.reference_to if not t.startswith("*")],
        "relationshipName": field.relationship_name,
    }
