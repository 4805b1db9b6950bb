"""Document statuses and the one table of allowed transitions."""

from __future__ import annotations

import enum

from docrelay.errors import ConflictError


class DocumentStatus(enum.StrEnum):
    """A document's status code, as Salesforce records it."""

    CREATED = "DCR"
    """Created, not sent yet."""
    STARTED = "DSS"
    """Sent; signing in progress."""
    COMPLETED = "DCO"
    """Every signatory signed every required field; the sealed PDF exists."""
    EXPIRED = "DEX"
    """Passed its expiration time before completion."""
    CANCELLED = "DCA"
    """Cancelled by its sender before completion."""
    DECLINED = "DSD"
    """A signatory declined to sign."""

    @property
    def label(self) -> str:
        return STATUS_NAMES[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


STATUS_NAMES = {
    DocumentStatus.CREATED: "Created",
    DocumentStatus.STARTED: "Started",
    DocumentStatus.COMPLETED: "Completed",
    DocumentStatus.EXPIRED: "Expired",
    DocumentStatus.CANCELLED: "Cancelled",
    DocumentStatus.DECLINED: "Declined",
}

FINAL_STATUSES = frozenset(
    {
        DocumentStatus.COMPLETED,
        DocumentStatus.EXPIRED,
        DocumentStatus.CANCELLED,
        DocumentStatus.DECLINED,
    }
)

TRANSITIONS: dict[DocumentStatus, frozenset[DocumentStatus]] = {
    DocumentStatus.CREATED: frozenset({DocumentStatus.STARTED, DocumentStatus.CANCELLED}),
    DocumentStatus.STARTED: frozenset(
        {
            DocumentStatus.COMPLETED,
            DocumentStatus.EXPIRED,
            DocumentStatus.CANCELLED,
            DocumentStatus.DECLINED,
        }
    ),
    DocumentStatus.COMPLETED: frozenset(),
    DocumentStatus.EXPIRED: frozenset(),
    DocumentStatus.CANCELLED: frozenset(),
    DocumentStatus.DECLINED: frozenset(),
}


def check_transition(current: str, target: DocumentStatus) -> None:
    """Raise ConflictError (409) with the current status when ``current -> target`` is not allowed."""
    status = DocumentStatus(current)
    if target not in TRANSITIONS[status]:
        raise ConflictError(
            f"A document in status {status.value} ({status.label}) cannot move to "
            f"{target.value} ({target.label})",
            current_status=status.value,
        )
