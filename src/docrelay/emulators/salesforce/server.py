"""Running the emulator: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from docrelay.emulators.salesforce import admin, state
from docrelay.emulators.salesforce.app import create_app
from docrelay.emulators.salesforce.faults import FaultRule, parse_rule
from docrelay.emulators.salesforce.org import Org, OrgSettings
from docrelay.emulators.salesforce.schema import load_schema

logger = logging.getLogger(__name__)

DEFAULT_USERNAME = "integration@docrelay-emulator.example"
DEFAULT_PASSWORD = "DocRelay-Emulator-1"
DEFAULT_SECURITY_TOKEN = "EMULATORSECURITYTOKEN000"
DEFAULT_CONSUMER_KEY = "3MVG9DocRelayEmulatorConsumerKey.LocalOnly"
DEFAULT_CONSUMER_SECRET = "DOCRELAYEMULATORCONSUMERSECRET0001"
_SAVE_INTERVAL_SECONDS = 0.5


class SalesforceEmulator:
    """An emulated Salesforce org served over HTTP on ``host:port`` (port 0 picks a free one).

    ``start()`` returns once the server listens; ``stop()`` shuts it down and
    saves the state file when one is set. Usable as a context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: str | Path | None = None,
        settings: OrgSettings | None = None,
        object_files: tuple[str | Path, ...] = (),
        faults: list[dict[str, Any]] | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        security_token: str = DEFAULT_SECURITY_TOKEN,
        consumer_key: str = DEFAULT_CONSUMER_KEY,
        consumer_secret: str = DEFAULT_CONSUMER_SECRET,
        fault_seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state_file = Path(state_file) if state_file else None
        self.org = Org(settings=settings, schema=load_schema(object_files))
        self.org.faults.random.seed(fault_seed)
        if self.state_file is not None and self.state_file.exists():
            self.org.seed(username, password, security_token, consumer_key, consumer_secret)
            state.load(self.org, self.state_file)
        else:
            self.org.seed(username, password, security_token, consumer_key, consumer_secret)
        for rule in faults or []:
            self.org.faults.add(parse_rule(rule))
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._dirty = threading.Event()
        self._startup_error: BaseException | None = None

    # Lifecycle

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SalesforceEmulator:
        """Serve in a daemon thread; return once the port is bound."""
        self._thread = threading.Thread(
            target=self._run_thread, name="salesforce-emulator", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._startup_error is not None:
            raise self._startup_error
        if not self._ready.is_set():
            raise RuntimeError("the Salesforce emulator did not start within 30 seconds")
        return self

    def stop(self) -> None:
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_event.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None
        self._save_if_needed(force=True)

    def __enter__(self) -> SalesforceEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def serve(self, on_ready: Any = None, handle_signals: bool = False) -> None:
        """Serve until :meth:`stop` (or cancellation); ``on_ready()`` runs once listening.

        With ``handle_signals`` (main thread only), SIGINT and SIGTERM stop the server.
        """
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(signum, self._stop_event.set)
        app = create_app(self.org, on_change=self._dirty.set)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            self.port = runner.addresses[0][1]
            logger.info(
                "Salesforce emulator listening on %s",
                self.base_url,
                extra={"action": "salesforce_emulator_started"},
            )
            self._ready.set()
            if on_ready is not None:
                on_ready()
            saver = asyncio.create_task(self._save_periodically())
            try:
                await self._stop_event.wait()
            finally:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
        finally:
            await runner.cleanup()
            logger.info(
                "Salesforce emulator stopped", extra={"action": "salesforce_emulator_stopped"}
            )

    def _run_thread(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(_SAVE_INTERVAL_SECONDS)
            self._save_if_needed()

    def _save_if_needed(self, force: bool = False) -> None:
        if self.state_file is None or not (force or self._dirty.is_set()):
            return
        self._dirty.clear()
        state.save(self.org, self.state_file)

    # Helpers for tests, mirroring the /__emulator endpoints

    def records(self, object_name: str) -> list[dict[str, Any]]:
        """Return copies of all records of ``object_name``, deleted ones included."""
        return admin.list_records(self.org, object_name)

    def live_records(self, object_name: str) -> list[dict[str, Any]]:
        return [r for r in self.records(object_name) if not r["IsDeleted"]]

    def file_bytes(self, record_id: str) -> bytes | None:
        with self.org.lock:
            return self.org.store.blob(record_id)

    def calls(self) -> dict[str, Any]:
        """Return the call log: ``total``, ``counts`` by kind, ``api_calls`` and ``calls``."""
        with self.org.lock:
            return self.org.calls.summary()

    def clear_calls(self) -> None:
        with self.org.lock:
            self.org.calls.clear()

    def add_fault(self, kind: str, **options: Any) -> FaultRule:
        """Add a fault rule (see :mod:`docrelay.emulators.salesforce.faults` for kinds)."""
        rule = parse_rule({"kind": kind, **options})
        with self.org.lock:
            return self.org.faults.add(rule)

    def clear_faults(self) -> None:
        with self.org.lock:
            self.org.faults.clear()

    def change_password(self, new_password: str, username: str | None = None) -> None:
        self.org.change_password(new_password, username)

    def expire_sessions(self) -> int:
        return self.org.expire_sessions()

    def set_api_usage(self, used: int) -> None:
        self.org.set_api_usage(used)

    def update_settings(self, **changes: Any) -> OrgSettings:
        return admin.update_settings(self.org, changes)

    def info(self) -> dict[str, Any]:
        """Return org id, credentials, settings and API usage (as ``GET /__emulator/org``)."""
        return admin.org_info(self.org)
