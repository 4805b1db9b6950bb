"""In-memory record store with an undo journal for all-or-none requests.

Records are dicts of field values keyed by the 15-character id core. A deleted
record stays in the store with ``IsDeleted`` set, as in the recycle bin, so
``queryAll`` can see it and later calls get ``ENTITY_IS_DELETED``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

_MISSING = object()


class RecordStore:
    """Records and file bodies of every object, with nested transactions.

    Fields registered with :meth:`add_index` (external ids, unique fields) get a
    value index, so upserts by external id stay fast with many records.
    """

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.blobs: dict[str, bytes] = {}
        self._journals: list[list[tuple[str, str, Any, Any]]] = []
        # (object, field) -> case_sensitive flag, and (object, field) -> value -> id cores
        self._indexed: dict[tuple[str, str], bool] = {}
        self._indexes: dict[tuple[str, str], dict[str, set[str]]] = {}

    def add_index(self, object_name: str, field_name: str, case_sensitive: bool) -> None:
        self._indexed[(object_name, field_name)] = case_sensitive
        self.reindex()

    def reindex(self) -> None:
        """Rebuild every value index from the records (after loading a state file)."""
        self._indexes = {key: {} for key in self._indexed}
        for object_name, table in self.records.items():
            for key, record in table.items():
                self._index(object_name, key, record, add=True)

    def lookup(self, object_name: str, field_name: str, value: str) -> list[dict[str, Any]] | None:
        """Return records (deleted ones included) whose indexed field equals ``value``.

        Returns None when the field has no index, so the caller scans instead.
        """
        index = self._indexes.get((object_name, field_name))
        if index is None:
            return None
        case_sensitive = self._indexed[(object_name, field_name)]
        keys = index.get(value if case_sensitive else value.lower(), set())
        table = self.records.get(object_name, {})
        return [table[key] for key in sorted(keys) if key in table]

    def table(self, object_name: str) -> dict[str, dict[str, Any]]:
        return self.records.setdefault(object_name, {})

    def find(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """Return the record (deleted or not) whose id core matches, or None."""
        return self.records.get(object_name, {}).get(record_id[:15])

    def live(self, object_name: str) -> list[dict[str, Any]]:
        return [r for r in self.records.get(object_name, {}).values() if not r["IsDeleted"]]

    def put(self, object_name: str, record: dict[str, Any]) -> None:
        key = record["Id"][:15]
        table = self.table(object_name)
        previous = table.get(key)
        snapshot = _MISSING if previous is None else copy.deepcopy(previous)
        self._remember(object_name, key, snapshot, _MISSING)
        self._replace(object_name, key, record)

    def put_blob(self, record_id: str, data: bytes) -> None:
        key = record_id[:15]
        self._remember("", key, _MISSING, self.blobs.get(key, _MISSING))
        self.blobs[key] = data

    def blob(self, record_id: str) -> bytes | None:
        return self.blobs.get(record_id[:15])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo every change made inside the block when it raises."""
        self._journals.append([])
        try:
            yield
        except BaseException:
            self._rollback(self._journals.pop())
            raise
        finished = self._journals.pop()
        if self._journals:
            self._journals[-1].extend(finished)

    def rollback_point(self) -> int:
        """Return a marker for :meth:`rollback_to` inside the current transaction."""
        return len(self._journals[-1]) if self._journals else 0

    def rollback_to(self, marker: int) -> None:
        """Undo the changes made in the current transaction since ``marker``."""
        if not self._journals:
            return
        journal = self._journals[-1]
        self._rollback(journal[marker:])
        del journal[marker:]

    def clear(self) -> None:
        self.records.clear()
        self.blobs.clear()
        self.reindex()

    def _replace(self, object_name: str, key: str, record: dict[str, Any] | None) -> None:
        table = self.table(object_name)
        previous = table.get(key)
        if previous is not None:
            self._index(object_name, key, previous, add=False)
        if record is None:
            table.pop(key, None)
            return
        table[key] = record
        self._index(object_name, key, record, add=True)

    def _index(self, object_name: str, key: str, record: dict[str, Any], add: bool) -> None:
        for (indexed_object, field_name), case_sensitive in self._indexed.items():
            if indexed_object != object_name or record.get(field_name) is None:
                continue
            value = str(record[field_name])
            value = value if case_sensitive else value.lower()
            keys = self._indexes[(object_name, field_name)].setdefault(value, set())
            if add:
                keys.add(key)
            else:
                keys.discard(key)

    def _remember(self, object_name: str, key: str, record: Any, blob: Any) -> None:
        if self._journals:
            self._journals[-1].append((object_name, key, record, blob))

    def _rollback(self, journal: list[tuple[str, str, Any, Any]]) -> None:
        for object_name, key, record, blob in reversed(journal):
            if object_name:
                self._replace(object_name, key, None if record is _MISSING else record)
            elif blob is _MISSING:
                self.blobs.pop(key, None)
            else:
                self.blobs[key] = blob
