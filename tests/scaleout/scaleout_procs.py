"""Real ``docrelay`` processes for the scale-out tests, started and stopped by process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from docrelay.config import Settings, load_settings

TEST_SECRET_KEY = "scaleout-secret-key-0123456789abcdef"


def runtime_settings(database_url: str, data_dir: Path) -> Settings:
    """Return the settings of the test's own runtime, matching those of its processes."""
    return load_settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        allowed_destination_networks="127.0.0.0/8",
    )


def process_environment(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    """Return an environment with the caller's DOCRELAY_* variables replaced by these settings."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("DOCRELAY_")
    }
    environment.update(
        {
            "DOCRELAY_DATABASE_URL": database_url,
            "DOCRELAY_SECRET_KEY": TEST_SECRET_KEY,
            "DOCRELAY_ALLOWED_DESTINATION_NETWORKS": "127.0.0.0/8",
            "DOCRELAY_DATA_DIR": str(data_dir),
            "DOCRELAY_LOG_LEVEL": "WARNING",
        }
    )
    environment.update({f"DOCRELAY_{name.upper()}": str(value) for name, value in settings.items()})
    return environment


class DocRelayProcess:
    """One ``python -m docrelay <args>`` child whose output goes to a log file."""

    def __init__(self, args: list[str], environment: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "docrelay", *args],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Send SIGKILL: the process gets no chance to finish anything."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """Ask the process to stop (SIGTERM), kill it after ``timeout``; return its exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return int(self.process.returncode)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


class ProcessGroup:
    """The processes one test started; ``stop_all`` stops each by its own pid."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[DocRelayProcess] = []

    def start(self, name: str, args: list[str], environment: dict[str, str]) -> DocRelayProcess:
        process = DocRelayProcess(args, environment, self.directory / f"{name}.log")
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {process.log_path.name} (pid {process.pid})\n{process.output()[-3000:]}"
            for process in self.processes
        )


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes; return its last verdict."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
