"""Background work that runs beside the API (or alone in ``docrelay worker``)."""

from __future__ import annotations

import asyncio

from docrelay.runtime import Runtime


async def run_background(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the delivery worker and the periodic jobs until ``stop`` is set."""
    await stop.wait()
