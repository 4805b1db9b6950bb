"""A web notification receiver on 127.0.0.1 that records what every worker process sends it."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import threading
import time

from aiohttp import web


@dataclasses.dataclass(frozen=True)
class Hit:
    webhook_id: str
    document_id: str
    sequence: int
    received_at: float
    """``time.monotonic()`` in the test process when the request arrived."""


class Receiver:
    """An aiohttp server in its own thread that waits ``delay`` seconds before each response."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.hits: list[Hit] = []
        self.port = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scaleout-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the receiver did not start")

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def count(self) -> int:
        with self._lock:
            return len(self.hits)

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def wait_for(
        self, predicate: collections.abc.Callable[[list[Hit]], bool], timeout: float
    ) -> bool:
        """Wait until ``predicate(hits)`` holds; return whether it did before ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(self.hits):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(min(remaining, 0.5))
            return True

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = int(self._runner.addresses[0][1])
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        body = json.loads(await request.read())
        hit = Hit(
            webhook_id=request.headers.get("webhook-id", ""),
            document_id=str(body["document_id"]),
            sequence=int(body["sequence"]),
            received_at=arrived,
        )
        with self._arrived:
            self.hits.append(hit)
            self._arrived.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True})


def order_violations(hits: list[Hit]) -> list[tuple[str, int, int]]:
    """Return (document, earlier, later) for each sequence received after a higher one of its document.

    A repeated delivery of the sequence last received is not a violation: it is
    the at-least-once duplicate the ``webhook-id`` lets receivers drop.
    """
    highest: dict[str, int] = {}
    violations = []
    for hit in hits:
        seen = highest.get(hit.document_id, 0)
        if hit.sequence < seen:
            violations.append((hit.document_id, seen, hit.sequence))
        highest[hit.document_id] = max(seen, hit.sequence)
    return violations
