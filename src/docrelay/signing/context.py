"""Helpers every signing action shares: client facts, audit entries, turn checks and field values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.errors import ConflictError
from docrelay.storage.models import Document, Signatory, TemplateVersion
from docrelay.templates.definition import AUTOMATIC_TYPES, SIGNED_TYPES, FieldDefinition


@dataclass(frozen=True)
class Client:
    """The browser behind a signing action, as the audit trail records it."""

    ip: str | None
    user_agent: str | None
    signing_session: str | None = None


def add_action(
    signatory: Signatory, action: str, client: Client, detail: str | None = None
) -> None:
    entry: dict[str, Any] = {
        "action": action,
        "at": clock.now().isoformat(),
        "ip": client.ip,
        "user_agent": (client.user_agent or "")[:500] or None,
    }
    if detail:
        entry["detail"] = detail
    signatory.actions = [*signatory.actions, entry]


def template_version(session: Session, document: Document) -> TemplateVersion:
    version = session.get(TemplateVersion, document.template_version_id)
    assert version is not None
    return version


def require_turn(document: Document, signatory: Signatory) -> None:
    if signatory.step > document.current_step:
        raise ConflictError(
            f"Signatory {signatory.position} signs in step {signatory.step}, which has not started "
            f"(the document is at step {document.current_step})",
            current_step=document.current_step,
        )
    if signatory.status in ("signed", "declined"):
        raise ConflictError(
            f"Signatory {signatory.position} has already {signatory.status}",
            signatory_status=signatory.status,
        )


def field_value(document: Document, signatory: Signatory, item: FieldDefinition) -> Any:
    """Return a field's current value: the signatory's entry, else the parameter that pre-fills it."""
    if item.name in signatory.field_values:
        return signatory.field_values[item.name]
    if item.parameter:
        return system_parameters(document, signatory).get(
            item.parameter, document.parameters.get(item.parameter)
        )
    return None


def system_parameters(document: Document, signatory: Signatory) -> dict[str, str]:
    number = signatory.position
    values = {
        f"Signatory {number} Full Name": signatory.name,
        f"Signatory {number} Email Address": signatory.email,
    }
    if signatory.phone:
        values[f"Signatory {number} Phone Number"] = signatory.phone
    return {**document.parameters, **values}


def field_view(document: Document, signatory: Signatory, item: FieldDefinition) -> dict[str, Any]:
    return {
        "name": item.name,
        "type": item.type.value,
        "page": item.page,
        "x": item.x,
        "y": item.y,
        "width": item.width,
        "height": item.height,
        "required": item.is_required,
        "automatic": item.type in AUTOMATIC_TYPES or item.type in SIGNED_TYPES,
        "value": field_value(document, signatory, item) if item.type not in SIGNED_TYPES else None,
    }
