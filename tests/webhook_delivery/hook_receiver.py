"""A real HTTP receiver on 127.0.0.1 that records web notifications and replies from a script."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from aiohttp import web


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class HookReceiver:
    """An aiohttp server in its own thread that replies per path, in the scripted order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self.required_authorization: dict[str, str] = {}
        """Path -> the exact Authorization value it accepts; anything else gets 401."""
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        """Reply to the next requests to ``path`` with ``answers`` in order; the last one repeats."""
        self._scripts[path] = list(answers)

    def at(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

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
        self.received.append(Received(request.method, request.path, dict(request.headers), body))
        required = self.required_authorization.get(request.path)
        if required is not None and request.headers.get("Authorization") != required:
            return web.Response(status=401, body=b"bad credentials")
        script = self._scripts.get(request.path) or [Answer()]
        answer = script.pop(0) if len(script) > 1 else script[0]
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)
