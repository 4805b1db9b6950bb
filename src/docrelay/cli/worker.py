"""``docrelay worker``: the delivery worker and scheduler without the API."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from docrelay.config import get_settings
from docrelay.errors import ConfigurationError
from docrelay.logs import configure_logging
from docrelay.runtime import Runtime
from docrelay.storage import migrate

logger = logging.getLogger(__name__)


def worker_command() -> None:
    """Deliver document events and run the scheduler until stopped (Ctrl+C or SIGTERM)."""
    from docrelay.background import run_background

    try:
        settings = get_settings()
        configure_logging(settings.log_format, settings.log_level)
        runtime = Runtime.from_settings(settings)
    except ConfigurationError as exc:
        typer.echo(f"Configuration error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    if not settings.is_sqlite and not migrate.is_current(runtime.database):
        runtime.close()
        typer.echo(
            "The database schema is not up to date; run `docrelay db upgrade` first.", err=True
        )
        raise typer.Exit(1)

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
