"""Workers and an API process ride out a PostgreSQL restart by themselves.

The test runs its own PostgreSQL cluster (see scaleout_cluster) so that
stopping it disturbs no other test run on the machine. While the server is
down the API answers 503 with a problem body; afterwards API and workers
reconnect without being restarted, and every delivery, written before or
after the outage, reaches the receiver in document order.
"""

from __future__ import annotations

import collections
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scaleout_cluster import PrivateCluster, server_binaries
from scaleout_procs import ProcessGroup, process_environment, runtime_settings, wait_until
from scaleout_receiver import Receiver, order_violations
from scaleout_seed import bulk_backlog, record_one, seed_documents
from sqlalchemy import func, select

from docrelay.accounts.service import create_account, create_api_key
from docrelay.runtime import Runtime
from docrelay.storage import migrate
from docrelay.storage.db import Database
from docrelay.storage.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed here")
    server = PrivateCluster(binaries)
    try:
        server.init()
        server.start()
        database = Database(server.url)
        migrate.upgrade(database)
        database.dispose()
        yield server
    finally:
        server.remove()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, api_key: str) -> tuple[int, str, dict[str, Any]]:
    """GET ``url``; return status, content type and JSON body, whatever the status."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["content-type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, error.headers["content-type"], json.loads(body)
    except (urllib.error.URLError, ConnectionError):
        return 0, "", {}


def _states(runtime: Runtime) -> dict[str, int]:
    with runtime.database.session() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: int(count) for state, count in rows}


def test_restart_workers_and_api_reconnect(
    cluster: PrivateCluster, receiver: Receiver, processes: ProcessGroup, tmp_path: Path
) -> None:
    receiver.delay = 0.01
    runtime = Runtime.from_settings(runtime_settings(cluster.url, tmp_path / "data"))
    try:
        with runtime.database.transaction() as session:
            account = create_account(session, "Restart Corp")
            api_key = create_api_key(session, account).secret
        seeded = seed_documents(runtime, receiver.url, 200)
        expected = bulk_backlog(runtime, seeded, 3)

        port = _free_port()
        environment = process_environment(
            cluster.url, tmp_path / "data", lease_seconds=3, poll_interval=0.3
        )
        api = processes.start("api", ["serve", "--no-worker", "--port", str(port)], environment)
        documents_url = f"http://127.0.0.1:{port}/api/v1/documents"
        api_up = wait_until(lambda: _get(documents_url, api_key)[0] == 200, 30, 0.2)
        assert api_up, processes.logs()
        for index in range(2):
            processes.start(f"worker-{index}", ["worker"], environment)
        assert receiver.wait_for(lambda hits: len(hits) >= 150, timeout=60), processes.logs()

        cluster.stop()
        status, content_type, body = _get(documents_url, api_key)
        assert status == 503, (status, body)
        assert content_type.startswith("application/problem+json")
        assert body["status"] == 503 and body["title"] and body["detail"]
        assert "Traceback" not in json.dumps(body)
        cluster.start()

        assert wait_until(lambda: _get(documents_url, api_key)[0] == 200, 30, 0.2), processes.logs()
        # Changes written after the restart must reach the workers too.
        for document_id in seeded.document_ids[:20]:
            expected[document_id] = record_one(runtime, document_id)
        total = sum(expected.values())
        finished = wait_until(lambda: _states(runtime) == {"delivered": total}, 90, 0.2)
        assert finished, f"{_states(runtime)} of {total}\n{processes.logs()}"

        hits = receiver.snapshot()
        ids_per_pair: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
        for hit in hits:
            ids_per_pair[(hit.document_id, hit.sequence)].add(hit.webhook_id)
        assert set(ids_per_pair) == {
            (document_id, sequence)
            for document_id, highest in expected.items()
            for sequence in range(1, highest + 1)
        }
        assert all(len(ids) == 1 for ids in ids_per_pair.values())
        assert order_violations(hits) == []
        assert api.alive() and all(process.alive() for process in processes.processes)
    finally:
        processes.stop_all()
        runtime.close()
