"""A real HTTP receiver on 127.0.0.1 for web-notification tests, and helpers to send to it."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from docrelay.webhooks.sender import HttpResult, WebhookRequest, make_client_session, send

LOOPBACK_ALLOWED = (ipaddress.ip_network("127.0.0.0/8"),)
T = TypeVar("T")


@dataclasses.dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """An aiohttp server in its own thread that records requests and responds per path."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.replies: dict[str, Reply] = {}
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test receiver did not start")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._startup())
        self._ready.set()
        self._loop.run_forever()

    async def _startup(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            ReceivedRequest(request.method, request.path, dict(request.headers), body)
        )
        reply = self.replies.get(request.path, Reply())
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine to completion in a fresh event loop."""

    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def send_once(request: WebhookRequest, allowed: tuple = LOOPBACK_ALLOWED) -> HttpResult:
    """Send ``request`` through a fresh vetted session that may reach loopback."""

    async def go() -> HttpResult:
        async with make_client_session(allowed) as session:
            return await send(session, request)

    return run(go)
