"""Starting DocRelay and the Salesforce emulator side by side on loopback for the demo."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


class ServerThread:
    """Runs a uvicorn server for ``app`` in a daemon thread on an already bound socket."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="docrelay-demo-server",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the DocRelay server stopped while starting; see the log above")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the DocRelay server did not start within {timeout:.0f} s")
            time.sleep(0.02)

    def stop(self, timeout: float = 20.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
