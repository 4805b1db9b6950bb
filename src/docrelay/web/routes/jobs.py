"""Bulk resend and background job progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from docrelay.delivery import resend, resend_jobs
from docrelay.web.deps import AccountDep, SessionDep

router = APIRouter(tags=["deliveries"])


@router.post(
    "/deliveries/resend",
    status_code=202,
    summary="Resend the deliveries a filter names, as a rate-limited background job",
    description=(
        "Filters: document_id, design_id, state (default failed), event, created_after, "
        "created_before. With dry_run the response only counts what would be resent (200). "
        "Otherwise a job is queued (202); follow it with GET /api/v1/jobs/{id}. Status-only "
        "deliveries whose document and design have a newer delivery are skipped."
    ),
)
def bulk_resend(
    session: SessionDep, account: AccountDep, body: resend.BulkResendInput, response: Response
) -> dict[str, Any]:
    if body.dry_run:
        filters = body.filters()
        resend.check_references(session, account.id, filters)
        response.status_code = 200
        return {"dry_run": True, **resend.count(session, account.id, filters)}
    job = resend_jobs.create_job(session, account.id, body)
    return resend_jobs.job_view(job)


@router.get("/jobs/{job_id}", summary="Read a background job and its progress")
def get_job(session: SessionDep, account: AccountDep, job_id: str) -> dict[str, Any]:
    return resend_jobs.job_view(resend_jobs.get_job(session, account.id, job_id))
