"""Runs the real delivery worker loop in a thread for tests that need it running beside other work."""

from __future__ import annotations

import asyncio
import threading

from docrelay.delivery.destinations.base import DestinationRegistry
from docrelay.delivery.worker import Worker
from docrelay.runtime import Runtime


class WorkerThread:
    """``with WorkerThread(runtime, registry):`` runs ``Worker.run`` until the block ends."""

    def __init__(self, runtime: Runtime, registry: DestinationRegistry) -> None:
        self.runtime = runtime
        self.registry = registry
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        worker = Worker(self.runtime, self.registry)
        self._ready.set()
        try:
            await worker.run(self._stop)
        finally:
            worker.close()

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the worker thread did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
