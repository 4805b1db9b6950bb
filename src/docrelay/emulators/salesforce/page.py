"""The HTML inspection page at ``/__emulator/``: records per object and stored files.

Every value is escaped with :func:`html.escape`, since record fields hold
whatever clients sent.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

_SYSTEM_COLUMNS = {
    "IsDeleted",
    "CreatedById",
    "LastModifiedById",
    "LastModifiedDate",
    "SystemModstamp",
}
# Rows shown per object, so a benchmark's thousands of records do not make the page unusable.
MAX_ROWS = 200
_FILE_OBJECTS = {"ContentVersion": "Title", "Attachment": "Name", "Document": "Name"}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
table { border-collapse: collapse; margin-bottom: 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #c9c9c9; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
tr.deleted td { color: #888; text-decoration: line-through; }
"""


def render(org: Org) -> str:
    """Return the whole page for the org's current state."""
    with org.lock:
        files = _files_section(org)
        objects = [
            _object_section(name, list(org.store.table(name).values()))
            for name in org.schema.objects
            if org.store.table(name)
        ]
        used, allocation = org.api_usage()
        org_id = org.org_id
    summary = (
        f"<p>Org <code>{_text(org_id)}</code>. API requests in the last 24 hours: "
        f'{used} of {allocation}. <a href="/__emulator/calls">Call log</a> (JSON).</p>'
    )
    body = "\n".join([summary, "<h2>Files</h2>", files, *objects])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>DocRelay Salesforce emulator</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>DocRelay Salesforce emulator</h1>{body}</body></html>"
    )


def _files_section(org: Org) -> str:
    rows = []
    for object_name, title_field in _FILE_OBJECTS.items():
        for record in org.store.table(object_name).values():
            data = org.store.blob(record["Id"])
            if data is None or record["IsDeleted"]:
                continue
            parent = (
                record.get("FirstPublishLocationId")
                or record.get("ParentId")
                or record.get("FolderId")
            )
            link = f"/__emulator/files/{record['Id']}"
            rows.append(
                "<tr>"
                f"<td>{_text(object_name)}</td>"
                f'<td><a href="{_text(link)}">{_text(record.get(title_field) or record["Id"])}</a></td>'
                f"<td>{len(data)}</td><td>{_text(parent)}</td><td>{_text(record['Id'])}</td>"
                "</tr>"
            )
    if not rows:
        return "<p>No files yet.</p>"
    rows = rows[-MAX_ROWS:]
    header = "<tr><th>Object</th><th>Name</th><th>Bytes</th><th>Linked to</th><th>Id</th></tr>"
    return f"<table>{header}{''.join(rows)}</table>"


def _object_section(name: str, all_records: list[dict[str, Any]]) -> str:
    records = all_records[-MAX_ROWS:]
    shown = "" if len(records) == len(all_records) else f", showing the latest {len(records)}"
    columns = [
        column
        for column in records[0]
        if column not in _SYSTEM_COLUMNS and any(r.get(column) not in (None, "") for r in records)
    ]
    header = "".join(f"<th>{_text(column)}</th>" for column in columns)
    rows = []
    for record in records:
        css = ' class="deleted"' if record.get("IsDeleted") else ""
        cells = "".join(f"<td>{_text(record.get(column))}</td>" for column in columns)
        rows.append(f"<tr{css}>{cells}</tr>")
    title = f"{_text(name)} ({len(all_records)}{shown})"
    return f"<h2>{title}</h2><table><tr>{header}</tr>{''.join(rows)}</table>"


def _text(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)
