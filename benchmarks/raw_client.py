"""The HTTP client ceiling: hand-written HTTP/1.1 POSTs over raw asyncio streams.

No Python HTTP library can beat this loop on one core, so it bounds what any
deliverer could reach against the local receiver. It is reported, never gated.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from benchmarks.stats import percentile


def _request_bytes(host: str, port: int, path: str, index: int) -> bytes:
    body = json.dumps({"document_id": f"raw-{index}", "sequence": 1, "pad": "x" * 220}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"webhook-id: raw-{index}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(url: str, index: int, deadline: float, latencies: list[float]) -> int:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    request = _request_bytes(host, port, parts.path or "/", index)
    sent = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            sent += 1
    finally:
        writer.close()
    return sent


async def measure(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """Run ``concurrency`` keep-alive connections POSTing for ``seconds``; return rate and latency."""
    latencies: list[float] = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    counts = await asyncio.gather(
        *(_client(url, i, deadline, latencies) for i in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    total = sum(counts)
    return {
        "concurrency": concurrency,
        "requests": total,
        "requests_per_second": total / elapsed,
        "cpu_us_per_request": cpu / total * 1e6 if total else None,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }
