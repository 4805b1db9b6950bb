"""Smoke tests of the benchmark harness: it runs and writes well-formed result lines.

These tests never assert a speed. Benchmarks are run by hand (docs/benchmarks.md);
``--quick`` only proves that the harness, the receiver and the checker work.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The harness lives beside src/ and is not installed; make it importable however pytest runs.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.receiver import ReceiverConfig, check_log, server_port, start_receiver  # noqa: E402


def _run_cli(*arguments: str, results_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            *arguments,
            "--quick",
            "--results-dir",
            str(results_dir),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _single_line(path: Path) -> dict[str, object]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 1, f"no result line in {path}"
    record = json.loads(lines[-1])
    assert isinstance(record, dict)
    return record


def _assert_well_formed(record: dict[str, object], scenario: str) -> None:
    assert record["scenario"] == scenario
    assert record["quick"] is True
    machine = record["machine"]
    assert isinstance(machine, dict)
    for key in ("nproc", "cpu_model", "python", "sqlite", "libraries", "git_commit"):
        assert key in machine, f"machine facts lack {key}"
    pairs = record["pairs"]
    assert isinstance(pairs, list)
    assert len(pairs) == 1
    assert {"a", "b", "ratio"} <= set(pairs[0])
    ratio = record["ratio"]
    assert isinstance(ratio, dict)
    assert {"median", "min", "max"} <= set(ratio)
    assert "met" in record["goal"]  # type: ignore[operator]


def test_baselines_quick_writes_result_line(tmp_path: Path) -> None:
    result = _run_cli("baselines", results_dir=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    record = _single_line(tmp_path / "baselines.jsonl")
    _assert_well_formed(record, "baselines")
    first = record["pairs"][0]["a"]  # type: ignore[index]
    assert first["lost"] == 0
    assert first["order_violations"] == 0


def test_outbox_overhead_quick_on_sqlite(tmp_path: Path) -> None:
    result = _run_cli("P6", "--no-postgres", results_dir=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    record = _single_line(tmp_path / "P6.jsonl")
    _assert_well_formed(record, "P6")
    assert record["variant"] == "sqlite"
    assert record["pairs"][0]["a"]["transactions"] > 0  # type: ignore[index]


def test_unknown_scenario_is_rejected(tmp_path: Path) -> None:
    result = _run_cli("P99", results_dir=tmp_path)

    assert result.returncode == 2
    assert "unknown scenario" in result.stderr
    assert not list(tmp_path.iterdir())


async def _post(port: int, body: bytes, webhook_id: str) -> int:
    """Send one POST on a fresh connection and return the status (0 when reset or unanswered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /hook HTTP/1.1\r\nHost: x\r\nwebhook-id: {webhook_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=0.3)
    except (TimeoutError, ConnectionResetError):
        line = b""
    writer.close()
    return int(line.split()[1]) if line else 0


def test_receiver_logs_requests_and_injects_errors() -> None:
    async def scenario() -> tuple[list[int], list[tuple[object, ...]]]:
        config = ReceiverConfig(error_5xx=0.25, error_429=0.25, timeouts=0.1, resets=0.1, seed=7)
        server, state = await start_receiver(config)
        port = server_port(server)
        statuses = []
        for sequence in range(1, 41):
            body = json.dumps({"document_id": "doc-1", "sequence": sequence}).encode()
            statuses.append(await _post(port, body, f"wh-{sequence}"))
        server.close()
        return statuses, list(state.log)

    statuses, log = asyncio.run(scenario())

    assert {200, 503, 429} <= set(statuses)
    assert 0 in statuses, "neither a timeout nor a reset was injected"
    assert len(log) == 40
    assert [record[1] for record in log] == list(range(1, 41))
    assert {record[2] for record in log} == {f"wh-{n}" for n in range(1, 41)}


def test_checker_counts_violations_losses_duplicates() -> None:
    records = [
        ("a", 1, "w1", 1.0, 200),
        ("a", 3, "w3", 2.0, 200),
        ("a", 2, "w2", 3.0, 200),  # arrives after 3: one order violation
        ("a", 3, "w3", 4.0, 200),  # a duplicate, not a violation
        ("b", 1, "w4", 5.0, 503),  # failed attempt, not accepted
        ("b", 1, "w4", 6.0, 200),
    ]

    check = check_log(records, {"a": 4, "b": 1})

    assert check.requests == 6
    assert check.accepted == 5
    assert check.duplicates == 1
    assert check.order_violations == 1
    assert check.lost == 1
    assert check.lost_examples == (("a", 4),)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_receiver_config_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="error_5xx"):
        ReceiverConfig(error_5xx=fraction)
