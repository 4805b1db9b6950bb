"""Fixtures for web-notification tests: a receiver, a closed port and a resetting port."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from webhook_harness import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver on a free port of 127.0.0.1."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A local port whose server resets every connection after reading the request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.recv(65536)
            # SO_LINGER with a zero timeout turns close() into a TCP reset.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(5)
    listener.close()
