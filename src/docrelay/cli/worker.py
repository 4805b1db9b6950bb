"""``docrelay worker``: the delivery worker and scheduler without the API."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from docrelay.config import get_settings
from docrelay.logs import configure_logging
from docrelay.runtime import Runtime

logger = logging.getLogger(__name__)


def worker_command() -> None:
    """Deliver document events and run the scheduler until stopped (Ctrl+C or SIGTERM)."""
    from docrelay.background import run_background

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    runtime = Runtime.from_settings(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_background(runtime, stop)

    try:
        asyncio.run(main())
    finally:
        runtime.close()
    typer.echo("Worker stopped.")
