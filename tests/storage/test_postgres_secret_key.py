"""With PostgreSQL every process must be given the shared DOCRELAY_SECRET_KEY.

No database is contacted: the processes stop on the missing key before they
connect, and the URL points at a closed loopback port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docrelay.config import load_settings
from docrelay.errors import ConfigurationError
from docrelay.runtime import Runtime

UNREACHABLE_POSTGRES = "postgresql://docrelay:secret@127.0.0.1:1/docrelay"


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("DOCRELAY_")
    }
    environment["DOCRELAY_DATABASE_URL"] = UNREACHABLE_POSTGRES
    environment["DOCRELAY_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "docrelay", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_runtime_refuses_postgres_without_secret_key(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, database_url=UNREACHABLE_POSTGRES)
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    with pytest.raises(ConfigurationError, match="DOCRELAY_SECRET_KEY"):
        Runtime.from_settings(settings)
    assert not (tmp_path / "secret.key").exists(), "no key file may be generated for PostgreSQL"


@pytest.mark.parametrize("args", [["db", "upgrade"], ["worker"]])
def test_startup_error_names_the_secret_key_variable(args: list[str], tmp_path: Path) -> None:
    result = _run(args, tmp_path)
    assert result.returncode != 0
    assert "DOCRELAY_SECRET_KEY is required with PostgreSQL" in result.stderr + result.stdout
