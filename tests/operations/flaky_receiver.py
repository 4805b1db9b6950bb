"""A real HTTP receiver on 127.0.0.1 that returns 503 to the first attempts of every notification."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any

from aiohttp import web


@dataclasses.dataclass
class Request:
    at: float
    webhook_id: str
    payload: dict[str, Any]
    accepted: bool


class FlakyReceiver:
    """Fails the first ``failures`` attempts of each ``webhook-id``, then accepts it."""

    def __init__(self, failures: int = 3) -> None:
        self.failures = failures
        self.requests: list[Request] = []
        self._seen: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Request]:
        return [item for item in self.requests if item.accepted]

    async def _handle(self, request: web.Request) -> web.Response:
        webhook_id = request.headers.get("webhook-id", "")
        payload = json.loads(await request.read())
        count = self._seen[webhook_id] = self._seen.get(webhook_id, 0) + 1
        accepted = count > self.failures
        self.requests.append(Request(time.monotonic(), webhook_id, payload, accepted))
        return web.json_response({"ok": accepted}, status=200 if accepted else 503)

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

    def __enter__(self) -> FlakyReceiver:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the flaky receiver did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
