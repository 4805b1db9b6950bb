"""A local HTTP/1.1 receiver for delivery benchmarks, written on raw ``asyncio.Protocol``.

It serves keep-alive POSTs on 127.0.0.1 fast enough (more than 10,000 requests/s on
one core) that it never limits a Python client. Knobs: a fixed service time and the
fractions of requests answered with 5xx, with 429 plus ``Retry-After``, never answered
(the client times out) or reset (TCP RST). Every request is logged as
``(document_id, sequence, webhook_id, received_at, status)``: the document id and
sequence come from the JSON body (``{"document_id": ..., "sequence": ...}``), the id
from the ``webhook-id`` header, and ``received_at`` is the wall-clock time at which the
response was written. :func:`check_log` turns a log into order violations, losses and
duplicates.

Two control paths let a harness in another process use one receiver for many runs:
``POST /_bench/dump`` (body: a file path) writes the log there as JSON lines and clears
it, and ``GET /_bench/stats`` returns counters as JSON.

Run it alone with ``python -m benchmarks.receiver --port 0``; it prints ``READY <port>``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import random
import signal
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 11\r\n\r\nunavailable"
)
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclasses.dataclass
class ReceiverConfig:
    """The receiver's behaviour per request; fractions are of all requests."""

    service_ms: float = 0.0
    """Fixed delay before every answer, in milliseconds."""
    error_5xx: float = 0.0
    error_429: float = 0.0
    retry_after_seconds: int = 1
    timeouts: float = 0.0
    """Requests never answered; the connection stays open until the client gives up."""
    resets: float = 0.0
    """Requests answered by closing the connection with a TCP RST."""
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("error_5xx", "error_429", "timeouts", "resets"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}")
        if self.error_5xx + self.error_429 + self.timeouts + self.resets > 1.0:
            raise ValueError("error_5xx + error_429 + timeouts + resets must not exceed 1")
        if self.service_ms < 0:
            raise ValueError(f"service_ms must be >= 0, got {self.service_ms}")


LogRecord = tuple[str | None, int | None, str | None, float, int]
"""``(document_id, sequence, webhook_id, received_at, status)``; status 0 = no answer."""


class ReceiverState:
    """The log and counters shared by all connections of one receiver."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.log: list[LogRecord] = []
        self.requests = 0
        self.held = 0
        self.max_held = 0
        self.connections = 0

    def choose_answer(self) -> str:
        if not (
            self.config.error_5xx
            or self.config.error_429
            or self.config.timeouts
            or self.config.resets
        ):
            return "ok"
        roll = self.rng.random()
        for name, fraction in (
            ("reset", self.config.resets),
            ("timeout", self.config.timeouts),
            ("5xx", self.config.error_5xx),
            ("429", self.config.error_429),
        ):
            if roll < fraction:
                return name
            roll -= fraction
        return "ok"

    def stats(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "logged": len(self.log),
            "held": self.held,
            "max_held": self.max_held,
            "connections": self.connections,
        }

    def dump(self, path: Path) -> int:
        """Write the log to ``path`` as JSON lines, clear it and reset the held maximum."""
        records, self.log = self.log, []
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, separators=(",", ":")))
                handle.write("\n")
        self.max_held = self.held
        return len(records)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests, answer them in order."""

    def __init__(self, state: ReceiverState) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.pending: collections.deque[list[bytes | None]] = collections.deque()
        self.hung = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.state.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.held -= sum(1 for slot in self.pending if slot[0] is None)
        self.pending.clear()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self.hung:
            return
        self.buffer += data
        while not self.hung:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            headers = _parse_headers(head)
            if headers is None:
                self._write(_BAD_REQUEST)
                self._close()
                return
            length = headers.get(b"content-length", 0)
            total = end + 4 + int(length)
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            self._handle(head, headers, body)

    def _handle(self, head: bytes, headers: dict[bytes, Any], body: bytes) -> None:
        state = self.state
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
        if path.startswith(b"/_bench/"):
            self._answer_control(path, body)
            return
        state.requests += 1
        answer = state.choose_answer()
        document_id, sequence = _payload_identity(body)
        webhook_id = headers.get(b"webhook-id")
        if answer == "reset":
            state.log.append((document_id, sequence, webhook_id, time.time(), -1))
            self._reset()
            return
        if answer == "timeout":
            state.log.append((document_id, sequence, webhook_id, time.time(), 0))
            self.hung = True
            return
        response = _OK
        status = 200
        if answer == "5xx":
            response, status = _UNAVAILABLE, 503
        elif answer == "429":
            response, status = _too_many(state.config.retry_after_seconds), 429
        self._respond(response, (document_id, sequence, webhook_id, status))

    def _respond(
        self, response: bytes, identity: tuple[str | None, int | None, str | None, int]
    ) -> None:
        delay = self.state.config.service_ms / 1000.0
        if delay <= 0 and not self.pending:
            self._log(identity)
            self._write(response)
            return
        # Responses leave in request order even if a client pipelines requests.
        slot: list[bytes | None] = [None]
        self.pending.append(slot)
        self.state.held += 1
        self.state.max_held = max(self.state.max_held, self.state.held)
        loop = asyncio.get_running_loop()
        loop.call_later(delay, self._ready, slot, response, identity)

    def _ready(self, slot: list[bytes | None], response: bytes, identity: tuple[Any, ...]) -> None:
        if self.transport is None:
            return
        slot[0] = response
        self.state.held -= 1
        self._log(identity)
        while self.pending and self.pending[0][0] is not None:
            ready = self.pending.popleft()[0]
            assert ready is not None
            self._write(ready)

    def _log(self, identity: tuple[Any, ...]) -> None:
        document_id, sequence, webhook_id, status = identity
        self.state.log.append((document_id, sequence, webhook_id, time.time(), status))

    def _answer_control(self, path: bytes, body: bytes) -> None:
        if path == b"/_bench/dump":
            count = self.state.dump(Path(body.decode()))
            payload = json.dumps({"dumped": count}).encode()
        else:
            payload = json.dumps(self.state.stats()).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        self._write(head.encode() + payload)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _reset(self) -> None:
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _too_many(retry_after: int) -> bytes:
    return (
        f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\n"
        "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nslow"
    ).encode()


def _parse_headers(head: bytes) -> dict[bytes, Any] | None:
    """Return the few headers the receiver needs, or None for a malformed request."""
    lines = head.split(b"\r\n")
    if len(lines[0].split(b" ")) != 3:
        return None
    headers: dict[bytes, Any] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            try:
                headers[key] = int(value)
            except ValueError:
                return None
        elif key == b"webhook-id":
            headers[key] = value.strip().decode("latin-1")
    return headers


def _payload_identity(body: bytes) -> tuple[str | None, int | None]:
    """Return ``(document_id, sequence)`` from a JSON body; ``(None, None)`` when absent."""
    if not body.startswith(b"{"):
        return None, None
    try:
        payload = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    document_id = payload.get("document_id")
    sequence = payload.get("sequence")
    try:
        sequence = int(sequence) if sequence is not None else None
    except (TypeError, ValueError):
        sequence = None
    return (str(document_id) if document_id is not None else None), sequence


async def start_receiver(
    config: ReceiverConfig, host: str = LOOPBACK, port: int = 0
) -> tuple[asyncio.Server, ReceiverState]:
    """Start a receiver in the running event loop; return the server and its shared state."""
    if host not in (LOOPBACK, "::1", "localhost"):
        raise ValueError(f"host must be a loopback address, got {host!r}")
    state = ReceiverState(config)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(state), host, port, backlog=1024)
    return server, state


def server_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


# --- checking a delivery log -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DeliveryCheck:
    """What a receiver log proves about at-least-once, in-order delivery."""

    requests: int
    """Every request logged, answered or not."""
    accepted: int
    """Requests answered with 2xx."""
    unique: int
    """Distinct (document, sequence) pairs accepted."""
    duplicates: int
    """Accepted requests beyond the first for their (document, sequence)."""
    order_violations: int
    """Accepted requests whose sequence is lower than one already accepted for the document."""
    lost: int
    """Expected (document, sequence) pairs never accepted."""
    lost_examples: tuple[tuple[str, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        result["lost_examples"] = [list(pair) for pair in self.lost_examples]
        return result


def read_log(path: Path) -> list[LogRecord]:
    """Read a log written by ``/_bench/dump`` or :meth:`ReceiverState.dump`."""
    records: list[LogRecord] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            document_id, sequence, webhook_id, received_at, status = json.loads(line)
            records.append((document_id, sequence, webhook_id, received_at, status))
    return records


def check_log(
    records: Iterable[LogRecord],
    expected: Iterable[tuple[str, int]] | Mapping[str, int] | None = None,
) -> DeliveryCheck:
    """Count order violations, losses and duplicates in a receiver log.

    ``records`` must be in arrival order (as logged). ``expected`` is either the set of
    ``(document_id, sequence)`` pairs that should arrive or a mapping from document id
    to its last sequence (meaning 1..last); None skips the loss count.
    """
    highest: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    requests = accepted = duplicates = violations = 0
    for document_id, sequence, _webhook_id, _received_at, status in records:
        requests += 1
        if not 200 <= status < 300 or document_id is None or sequence is None:
            continue
        accepted += 1
        pair = (document_id, sequence)
        if pair in seen:
            duplicates += 1
        seen.add(pair)
        top = highest.get(document_id, 0)
        if sequence < top:
            violations += 1
        elif sequence > top:
            highest[document_id] = sequence
    lost_pairs = sorted(_expected_pairs(expected) - seen) if expected is not None else []
    return DeliveryCheck(
        requests=requests,
        accepted=accepted,
        unique=len(seen),
        duplicates=duplicates,
        order_violations=violations,
        lost=len(lost_pairs),
        lost_examples=tuple(lost_pairs[:5]),
    )


def _expected_pairs(
    expected: Iterable[tuple[str, int]] | Mapping[str, int],
) -> set[tuple[str, int]]:
    if isinstance(expected, Mapping):
        return {
            (document_id, seq)
            for document_id, last in expected.items()
            for seq in range(1, last + 1)
        }
    return set(expected)


# --- running in its own process ----------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.receiver", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one"
    )
    parser.add_argument(
        "--service-ms", type=float, default=0.0, help="fixed delay before each answer, ms"
    )
    parser.add_argument("--error-5xx", type=float, default=0.0, help="fraction answered 503")
    parser.add_argument("--error-429", type=float, default=0.0, help="fraction answered 429")
    parser.add_argument(
        "--retry-after", type=int, default=1, help="Retry-After seconds sent with 429"
    )
    parser.add_argument("--timeouts", type=float, default=0.0, help="fraction never answered")
    parser.add_argument("--resets", type=float, default=0.0, help="fraction answered with TCP RST")
    parser.add_argument("--seed", type=int, default=1, help="seed of the error choice")
    parser.add_argument("--log", type=Path, help="write the remaining log here on exit")
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="exit after this long at most"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    config = ReceiverConfig(
        service_ms=args.service_ms,
        error_5xx=args.error_5xx,
        error_429=args.error_429,
        retry_after_seconds=args.retry_after,
        timeouts=args.timeouts,
        resets=args.resets,
        seed=args.seed,
    )
    server, state = await start_receiver(config, port=args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"READY {server_port(server)}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    server.close()
    if args.log is not None:
        state.dump(args.log)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
