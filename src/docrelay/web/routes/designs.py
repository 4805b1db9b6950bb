"""Notification designs: list, read, create, update, copy, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from docrelay.delivery import designs
from docrelay.web.deps import AccountDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/designs", tags=["designs"])


@router.get("", summary="List the account's notification designs")
def list_designs(session: SessionDep, account: AccountDep) -> dict[str, Any]:
    return {
        "items": [
            designs.design_view(design) for design in designs.list_designs(session, account.id)
        ],
        "next_cursor": None,
    }


@router.get("/{design_id}", summary="Read a design (secrets are never returned)")
def get_design(session: SessionDep, account: AccountDep, design_id: str) -> dict[str, Any]:
    return designs.design_view(designs.get_design(session, account.id, design_id))


@router.post(
    "",
    status_code=201,
    summary="Create a design; a web notification's signing secret is shown once",
)
def create_design(
    runtime: RuntimeDep, session: SessionDep, account: AccountDep, body: designs.DesignInput
) -> dict[str, Any]:
    design, secret = designs.create_design(
        session,
        runtime.secrets,
        account.id,
        body,
        allowed_networks=runtime.settings.allowed_networks,
    )
    return designs.design_view(design, signing_secret=secret)


@router.put("/{design_id}", summary="Replace a design's settings; omitted secrets are kept")
def update_design(
    runtime: RuntimeDep,
    session: SessionDep,
    account: AccountDep,
    design_id: str,
    body: designs.DesignInput,
) -> dict[str, Any]:
    return designs.design_view(
        designs.update_design(
            session,
            runtime.secrets,
            account.id,
            design_id,
            body,
            allowed_networks=runtime.settings.allowed_networks,
        )
    )


@router.post("/{design_id}/copy", status_code=201, summary="Copy a design under a new name")
def copy_design(
    runtime: RuntimeDep,
    session: SessionDep,
    account: AccountDep,
    design_id: str,
    body: designs.CopyInput | None = None,
) -> dict[str, Any]:
    design, secret = designs.copy_design(
        session, runtime.secrets, account.id, design_id, body or designs.CopyInput()
    )
    return designs.design_view(design, signing_secret=secret)


@router.delete("/{design_id}", status_code=204, summary="Delete a design no template uses")
def delete_design(session: SessionDep, account: AccountDep, design_id: str) -> Response:
    designs.delete_design(session, account.id, design_id)
    return Response(status_code=204)
