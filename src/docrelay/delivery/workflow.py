"""A template's workflow: the designs that receive each of its events.

Documents copy the assignments when they are created, so a workflow change
applies to documents created afterwards.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from docrelay.delivery.designs import FILE_KINDS
from docrelay.documents.events import EVENT_TYPES
from docrelay.errors import ConflictError, NotFoundError, ValidationError
from docrelay.storage.models import Account, Design, Template, WorkflowAssignment
from docrelay.storage.types import new_id

logger = logging.getLogger(__name__)

STEP_EVENTS = frozenset({"step.started", "step.completed"})
WARNING_EVENT = "document.pre_expiration_warning"
MAX_ASSIGNMENTS = 100


class AssignmentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str
    design_id: str
    step: int | None = None
    pre_expiration_days: int | None = None


class WorkflowInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[AssignmentInput] = Field(default_factory=list, max_length=MAX_ASSIGNMENTS)


def assignment_view(row: WorkflowAssignment, design: Design | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "step": row.step,
        "design_id": row.design_id,
        "design_name": design.name if design else None,
        "design_kind": design.kind if design else None,
        "pre_expiration_days": row.pre_expiration_days,
    }


def _template(session: Session, account_id: str, template_id: str) -> Template:
    template = session.get(Template, template_id)
    if template is None or template.account_id != account_id or template.deleted_at is not None:
        raise NotFoundError(f"No template {template_id} in this account")
    return template


def get_workflow(session: Session, account_id: str, template_id: str) -> list[dict[str, Any]]:
    template = _template(session, account_id, template_id)
    rows = session.execute(
        select(WorkflowAssignment, Design)
        .join(Design, Design.id == WorkflowAssignment.design_id)
        .where(
            WorkflowAssignment.template_id == template.id,
            WorkflowAssignment.account_id == account_id,
        )
        .order_by(WorkflowAssignment.position, WorkflowAssignment.id)
    ).all()
    return [assignment_view(row, design) for row, design in rows]


def set_workflow(
    session: Session, account: Account, template_id: str, data: WorkflowInput
) -> list[dict[str, Any]]:
    """Replace a template's assignments after checking every one; raise with each bad field named."""
    template = _template(session, account.id, template_id)
    if data.assignments and not account.tracking_enabled:
        raise ConflictError(
            "Notifications need the tracking feature: switch on the account setting tracking_enabled first",
            setting="tracking_enabled",
        )
    designs = {
        design.id: design
        for design in session.scalars(
            select(Design).where(
                Design.account_id == account.id,
                Design.id.in_({item.design_id for item in data.assignments}),
            )
        )
    }
    errors: list[tuple[str, str]] = []
    seen: set[tuple[str, int | None, str, int | None]] = set()
    for index, item in enumerate(data.assignments):
        errors.extend(_check_assignment(f"assignments[{index}]", item, designs.get(item.design_id)))
        key = (item.event, item.step, item.design_id, item.pre_expiration_days)
        if key in seen:
            errors.append((f"assignments[{index}]", "repeats an earlier assignment"))
        seen.add(key)
    if errors:
        raise ValidationError(errors=errors)

    session.execute(delete(WorkflowAssignment).where(WorkflowAssignment.template_id == template.id))
    for position, item in enumerate(data.assignments):
        session.add(
            WorkflowAssignment(
                id=new_id(),
                account_id=account.id,
                template_id=template.id,
                design_id=item.design_id,
                event=item.event,
                step=item.step,
                pre_expiration_days=item.pre_expiration_days,
                position=position,
            )
        )
    session.flush()
    logger.info(
        "Workflow of template %s set: %d assignments",
        template.id,
        len(data.assignments),
        extra={"action": "workflow_updated", "template_id": template.id},
    )
    return get_workflow(session, account.id, template.id)


def _check_assignment(
    prefix: str, item: AssignmentInput, design: Design | None
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if item.event not in EVENT_TYPES:
        errors.append(
            (
                f"{prefix}.event",
                f"unknown event {item.event!r}; expected one of {', '.join(EVENT_TYPES)}",
            )
        )
    if item.step is not None and item.event not in STEP_EVENTS:
        errors.append((f"{prefix}.step", "only step.started and step.completed take a step"))
    if item.step is not None and item.step < 1:
        errors.append((f"{prefix}.step", "steps are numbered from 1"))
    if item.event == WARNING_EVENT and item.pre_expiration_days is None:
        errors.append(
            (
                f"{prefix}.pre_expiration_days",
                "is required for the pre-expiration warning (days before expiry)",
            )
        )
    if item.pre_expiration_days is not None and item.event != WARNING_EVENT:
        errors.append(
            (f"{prefix}.pre_expiration_days", f"only {WARNING_EVENT} takes pre_expiration_days")
        )
    if item.pre_expiration_days is not None and not 1 <= item.pre_expiration_days <= 365:
        errors.append((f"{prefix}.pre_expiration_days", "must be between 1 and 365"))

    if design is None:
        errors.append((f"{prefix}.design_id", f"no design {item.design_id} in this account"))
        return errors
    if design.kind in FILE_KINDS and item.event != "document.completed":
        errors.append(
            (
                f"{prefix}.design_id",
                f"{design.name!r} carries files ({design.kind}) and can only be attached to document.completed",
            )
        )
    if design.allowed_events and item.event not in design.allowed_events:
        errors.append(
            (
                f"{prefix}.design_id",
                f"{design.name!r} is restricted to {', '.join(design.allowed_events)}",
            )
        )
    return errors
