"""The admin commands run as a user runs them: ``docrelay init``, ``apikeys create``, ``db upgrade``, ``serve``."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from typer.testing import CliRunner, Result

from docrelay.cli.main import app
from docrelay.config import get_settings

DOCRELAY = [sys.executable, "-m", "docrelay"]


def _run(tmp_path: Path, *args: str, **env: str) -> Result:
    """Run a command in this process; settings are re-read from ``env`` for each run."""
    get_settings.cache_clear()
    environment = {
        "DOCRELAY_DATA_DIR": str(tmp_path / "data"),
        "DOCRELAY_LOG_LEVEL": "WARNING",
        **env,
    }
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        return CliRunner().invoke(app, list(args), env=environment)
    finally:
        get_settings.cache_clear()
        # The commands configure logging for a real process; give the test process its own back.
        root.handlers[:] = handlers
        root.setLevel(level)


def _key(output: str) -> str:
    match = re.search(r"API key:\s+(drk_\S+)", output)
    assert match, output
    return match.group(1)


def test_init_creates_account_and_key(tmp_path: Path) -> None:
    result = _run(tmp_path, "init", "--account-name", "Acme Corp")
    assert result.exit_code == 0, result.output
    key = _key(result.stdout)
    context_id = re.search(r"Context ID:\s+(\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    assert (tmp_path / "data" / "docrelay.db").exists()

    again = _run(tmp_path, "init", "--account-name", "Acme Corp")
    assert again.exit_code == 1
    assert context_id in again.stderr

    second = _run(tmp_path, "apikeys", "create", "--account", context_id, "--name", "crm")
    assert second.exit_code == 0, second.output
    assert _key(second.stdout) != key

    missing = _run(tmp_path, "apikeys", "create", "--account", "nope")
    assert missing.exit_code == 1
    assert "No account" in missing.stderr


def test_configuration_error_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "db", "upgrade", DOCRELAY_PORT="not-a-port")
    assert result.exit_code == 2
    assert "DOCRELAY_PORT" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_postgres_without_secret_key_exits_2(tmp_path: Path) -> None:
    result = _run(
        tmp_path, "db", "upgrade", DOCRELAY_DATABASE_URL="postgresql://user@127.0.0.1:1/none"
    )
    assert result.exit_code == 2
    assert "DOCRELAY_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    result = _run(tmp_path, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def _get(url: str, key: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_and_authenticates(tmp_path: Path) -> None:
    key = _key(_run(tmp_path, "init", "--account-name", "Served").stdout)
    port = _free_port()
    environment = {
        key_: value for key_, value in os.environ.items() if not key_.startswith("DOCRELAY_")
    }
    environment.update(
        {"DOCRELAY_DATA_DIR": str(tmp_path / "data"), "DOCRELAY_LOG_LEVEL": "WARNING"}
    )
    process = subprocess.Popen(
        [*DOCRELAY, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "docrelay serve did not start"
            time.sleep(0.1)
        assert _get(f"{base}/api/v1/settings")[0] == 401
        status, body = _get(f"{base}/api/v1/settings", key)
        assert status == 200
        assert json.loads(body)["name"] == "Served"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
