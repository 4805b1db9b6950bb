"""Web-notification design actions: rotate the signing secret, send a test request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from docrelay.web.caller import CallerDep
from docrelay.web.deps import AccountDep, RuntimeDep, SessionDep
from docrelay.webhooks import design_actions
from docrelay.webhooks.design_actions import DesignTestRequest

router = APIRouter(prefix="/designs", tags=["designs"])


@router.post(
    "/{design_id}/rotate-secret",
    summary="Give a web notification design a new signing secret",
    description=(
        "Returns the new `whsec_` secret once; it is never shown again. For 24 hours "
        "requests carry two signatures, one with the new secret and one with the previous "
        "secret, so receivers can switch without losing requests."
    ),
)
def rotate_secret(
    runtime: RuntimeDep, session: SessionDep, account: AccountDep, design_id: str
) -> dict[str, Any]:
    return design_actions.rotate_secret(session, runtime.secrets, account.id, design_id)


@router.post(
    "/{design_id}/test",
    summary="Send one test request of a web notification design",
    description=(
        "Renders the design for `event` with the data of `document_id` (or sample data), "
        "sends it, and returns the request as sent with secrets masked, the response, and "
        "each response check's verdict. No delivery is created."
    ),
)
async def test_design(
    runtime: RuntimeDep, caller: CallerDep, design_id: str, body: DesignTestRequest | None = None
) -> dict[str, Any]:
    request = body or DesignTestRequest()
    prepared = await run_in_threadpool(
        design_actions.prepare_test, runtime, caller.account_id, design_id, request
    )
    return await design_actions.send_test(runtime, prepared)
