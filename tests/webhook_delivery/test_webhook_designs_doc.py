"""The design documentation lists every merge field of the catalogue."""

from __future__ import annotations

from pathlib import Path

from docrelay.webhooks.events import EVENT_TYPES
from docrelay.webhooks.merge_fields import CATALOGUE

DOC = Path(__file__).resolve().parents[2] / "docs" / "designs.md"


def test_doc_lists_every_merge_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [field.name for field in CATALOGUE if f"| `[{field.name}]` |" not in text]
    assert not missing, (
        f"docs/designs.md lacks table rows for {missing}; regenerate the merge-field table"
    )


def test_doc_rows_name_the_fields_events() -> None:
    rows = {
        line.split("|")[1].strip(): line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `[")
    }
    for field in CATALOGUE:
        row = rows[f"`[{field.name}]`"]
        events = EVENT_TYPES if field.events is None else sorted(field.events)
        if field.events is None:
            assert "every event" in row, field.name
        for event in events if field.events is not None else ():
            assert f"`{event}`" in row, f"{field.name} row lacks {event}"
