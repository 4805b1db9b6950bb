"""The FastAPI application: REST API under /api/v1, signing API under /sign, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from docrelay import __version__
from docrelay.runtime import Runtime
from docrelay.web.problems import install_problem_handlers
from docrelay.web.routes import (
    deliveries,
    design_actions,
    designs,
    documents,
    health,
    jobs,
    observability,
    salesforce_records,
    settings,
    signing,
    templates,
    workflow,
)
from docrelay.webhooks.openapi import install_event_schemas

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(runtime: Runtime, *, run_background: bool | None = None) -> FastAPI:
    """Build the application; ``run_background`` starts the delivery worker and scheduler in-process."""
    if run_background is None:
        run_background = runtime.settings.worker_enabled

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        if run_background:
            from docrelay.background import run_background as run

            task = asyncio.create_task(run(runtime, stop), name="docrelay-background")
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=15)

    app = FastAPI(
        title="DocRelay",
        version=__version__,
        description="E-signature workflows with reliable document tracking.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.runs_worker = run_background
    install_problem_handlers(app)
    install_event_schemas(app)
    for module in (
        settings,
        templates,
        documents,
        designs,
        design_actions,
        workflow,
        deliveries,
        jobs,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(salesforce_records.router, prefix=API_PREFIX)
    app.include_router(signing.router)
    app.include_router(health.router)
    app.include_router(observability.router)
    return app
