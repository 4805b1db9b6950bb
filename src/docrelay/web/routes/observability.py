"""Readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from docrelay import metrics
from docrelay.runtime import Runtime
from docrelay.storage import migrate

router = APIRouter(tags=["health"])

WORKER_STALE_SECONDS = 30.0


@router.get("/readyz", summary="Whether this process can serve traffic")
def readyz(request: Request) -> JSONResponse:
    """Check the database answers, its schema is current, and (where this process runs one) the worker loop ticks."""
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    ready = True
    try:
        with runtime.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        if migrate.is_current(runtime.database):
            checks["migrations"] = "ok"
        else:
            checks["migrations"] = "behind: run `docrelay db upgrade`"
            ready = False
    except (
        Exception
    ) as exc:  # any driver error means "not ready"; the type is reported, never a secret
        checks["database"] = f"unreachable ({type(exc).__name__})"
        ready = False
    if getattr(request.app.state, "runs_worker", False):
        age = metrics.seconds_since_worker_tick()
        if age is None or age > WORKER_STALE_SECONDS:
            checks["worker"] = "not ticking" if age is None else f"last tick {age:.0f} s ago"
            ready = False
        else:
            checks["worker"] = "ok"
    else:
        checks["worker"] = "not in this process"
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def prometheus_metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(metrics.DatabaseCollector(runtime.database))
    body = generate_latest(metrics.REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
