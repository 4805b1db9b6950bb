"""Liveness: the process is up and serving requests."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Tell that the process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
