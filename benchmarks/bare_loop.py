"""The bare outbox loop: the simplest correct pipeline, as a yardstick for DocRelay.

A status change updates a document row and inserts an outbox row in one SQLite
transaction (WAL, ``synchronous=NORMAL``). One asyncio deliverer claims up to 100
pending rows and sends the rows of each document one after another, while rows of
different documents go out concurrently. It POSTs with aiohttp through one session
limited to 32 connections, marks the batch done in one transaction and sleeps 5 ms
when idle.
There are no retries beyond leaving a failed row pending, no leases and no logging:
whatever DocRelay spends above this loop is the cost of its features.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BATCH_SIZE = 100
CONNECTION_LIMIT = 32
IDLE_POLL_SECONDS = 0.005
PAYLOAD_PADDING = "x" * 180
"""Pads the JSON body to about 300 bytes, close to the size of DocRelay's benchmark payload."""

Poster = Callable[[str, bytes, dict[str, str]], Awaitable[int]]
"""Send one POST and return the HTTP status (0 when the request failed)."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS doc (id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE state = 'pending'",
)


def connect(path: Path) -> sqlite3.Connection:
    """Open the bare loop's database in autocommit mode with WAL and synchronous=NORMAL."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        connection.execute(statement)
    return connection


def create_documents(connection: sqlite3.Connection, document_ids: list[str]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO doc (id, status, version) VALUES (?, 'DCR', 0)",
        [(doc,) for doc in document_ids],
    )
    connection.execute("COMMIT")


def record_change(connection: sqlite3.Connection, document_id: str, status: str) -> int:
    """Change a document's status and write its outbox row in one transaction; return its sequence."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        (version,) = connection.execute(
            "UPDATE doc SET status = ?, version = version + 1 WHERE id = ? RETURNING version",
            (status, document_id),
        ).fetchone()
        payload = json.dumps(
            {
                "document_id": document_id,
                "sequence": version,
                "status": status,
                "pad": PAYLOAD_PADDING,
            }
        )
        connection.execute(
            "INSERT INTO outbox (doc_id, seq, payload, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
            (document_id, version, payload, time.time()),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return int(version)


def update_without_outbox(connection: sqlite3.Connection, document_id: str, status: str) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(
        "UPDATE doc SET status = ?, version = version + 1 WHERE id = ?", (status, document_id)
    )
    connection.execute("COMMIT")


def pending_count(connection: sqlite3.Connection) -> int:
    return int(
        connection.execute("SELECT count(*) FROM outbox WHERE state != 'done'").fetchone()[0]
    )


def _claim(connection: sqlite3.Connection) -> list[tuple[int, str, int, str]]:
    connection.execute("BEGIN IMMEDIATE")
    rows = connection.execute(
        "UPDATE outbox SET state = 'inflight' WHERE id IN"
        " (SELECT id FROM outbox WHERE state = 'pending' ORDER BY id LIMIT ?)"
        " RETURNING id, doc_id, seq, payload",
        (BATCH_SIZE,),
    ).fetchall()
    connection.execute("COMMIT")
    # RETURNING gives no order guarantee; chains need sequence order.
    return sorted(rows)


def _finish(connection: sqlite3.Connection, done: list[int], failed: list[int]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("UPDATE outbox SET state = 'done' WHERE id = ?", [(i,) for i in done])
    connection.executemany(
        "UPDATE outbox SET state = 'pending' WHERE id = ?", [(i,) for i in failed]
    )
    connection.execute("COMMIT")


async def deliver(
    connection: sqlite3.Connection,
    url: str,
    post: Poster,
    should_stop: Callable[[], bool],
) -> int:
    """Deliver pending rows until ``should_stop()`` is true while the outbox is idle.

    Returns the number of rows delivered.
    """
    delivered = 0
    while True:
        rows = _claim(connection)
        if not rows:
            if should_stop():
                return delivered
            await asyncio.sleep(IDLE_POLL_SECONDS)
            continue
        chains: dict[str, list[tuple[int, str, int, str]]] = {}
        for row in rows:
            chains.setdefault(row[1], []).append(row)
        outcomes = await asyncio.gather(
            *(_send_chain(url, post, chain) for chain in chains.values())
        )
        done = [row_id for ok_ids, _ in outcomes for row_id in ok_ids]
        failed = [row_id for _, bad_ids in outcomes for row_id in bad_ids]
        _finish(connection, done, failed)
        delivered += len(done)


async def _send_chain(
    url: str, post: Poster, chain: list[tuple[int, str, int, str]]
) -> tuple[list[int], list[int]]:
    done: list[int] = []
    for index, (row_id, doc_id, seq, payload) in enumerate(chain):
        headers = {"content-type": "application/json", "webhook-id": f"{doc_id}:{seq}"}
        status = await post(url, payload.encode(), headers)
        if not 200 <= status < 300:
            # A failed head blocks the rest of its chain, so order holds on the next claim.
            return done, [row[0] for row in chain[index:]]
        done.append(row_id)
    return done, []


class AiohttpPoster:
    """POST through one aiohttp session with a bounded connection pool."""

    def __init__(self, limit: int = CONNECTION_LIMIT) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            async with self.session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (self._aiohttp.ClientError, TimeoutError):
            return 0

    async def close(self) -> None:
        await self.session.close()


def describe() -> dict[str, Any]:
    return {
        "batch_size": BATCH_SIZE,
        "connection_limit": CONNECTION_LIMIT,
        "idle_poll_ms": IDLE_POLL_SECONDS * 1000,
        "sqlite": "WAL, synchronous=NORMAL",
    }
