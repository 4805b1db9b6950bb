"""A template's workflow: the designs attached to its events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from docrelay.delivery import workflow
from docrelay.web.deps import AccountDep, SessionDep

router = APIRouter(prefix="/templates", tags=["workflow"])


@router.get("/{template_id}/workflow", summary="Read a template's workflow")
def get_workflow(session: SessionDep, account: AccountDep, template_id: str) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "assignments": workflow.get_workflow(session, account.id, template_id),
    }


@router.put(
    "/{template_id}/workflow",
    summary="Replace a template's workflow (applies to documents created afterwards)",
)
def put_workflow(
    session: SessionDep, account: AccountDep, template_id: str, body: workflow.WorkflowInput
) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "assignments": workflow.set_workflow(session, account, template_id, body),
    }
