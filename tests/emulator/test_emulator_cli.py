"""``docrelay emulate salesforce`` as a user runs it: a real process, state kept between runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from docrelay.cli.emulate import parse_fault_option
from docrelay.cli.main import app as main_app
from docrelay.errors import ValidationError
from docrelay.salesforce.routing import make_session


@contextmanager
def _running(*arguments: str) -> Iterator[tuple[str, dict[str, Any]]]:
    command = [sys.executable, "-m", "docrelay", "emulate", "salesforce", "--port", "0", *arguments]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            base_url = process.stdout.readline().strip()
            details = json.loads(process.stdout.readline())
            yield base_url, details
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        errors = process.stderr.read()
    assert process.returncode == 0, errors


def _login(base_url: str, details: dict[str, Any], password: str | None = None) -> Salesforce:
    return Salesforce(
        username=details["username"],
        password=password or details["password"],
        security_token=details["security_token"],
        session=make_session(base_url),
    )


@pytest.mark.slow
def test_demo_flow_lead_and_pdf_on_page(tmp_path: Path, sample_pdf_dir: Path) -> None:
    pdf = (sample_pdf_dir / "minimal-document.pdf").read_bytes()

    with _running() as (base_url, details):
        sf = _login(base_url, details)
        lead_id = sf.Lead.create({"LastName": "Demo", "Company": "Acme & Sons"})["id"]
        version = sf.restful(
            "sobjects/ContentVersion",
            method="POST",
            files={
                "entity_content": (
                    None,
                    json.dumps(
                        {
                            "Title": "Signed demo",
                            "PathOnClient": "demo.pdf",
                            "FirstPublishLocationId": lead_id,
                        }
                    ),
                    "application/json",
                ),
                "VersionData": ("demo.pdf", pdf, "application/pdf"),
            },
            headers={"Content-Type": None},
        )
        page = requests.get(details["inspect_url"], timeout=10).text
        download = requests.get(f"{base_url}/__emulator/files/{version['id']}", timeout=10).content

    assert base_url.startswith("http://127.0.0.1:")
    assert details["org_id"].startswith("00D")
    assert len(details["org_id"]) == 18
    assert lead_id in page
    assert "Acme &amp; Sons" in page
    assert "Signed demo" in page
    assert download == pdf


@pytest.mark.slow
def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "org.json"

    with _running("--state", str(state)) as (base_url, details):
        sf = _login(base_url, details)
        lead_id = sf.Lead.create({"LastName": "Kept", "Company": "State"})["id"]
        requests.post(
            f"{base_url}/__emulator/password", json={"password": "Persisted-9"}, timeout=10
        )

    with _running("--state", str(state)) as (base_url, details):
        sf = _login(base_url, details, password="Persisted-9")
        record = sf.Lead.get(lead_id)
        new_id = sf.Lead.create({"LastName": "Next", "Company": "State"})["id"]

    assert record["LastName"] == "Kept"
    assert details["password"] == "Persisted-9"
    assert new_id != lead_id
    assert state.exists()


@pytest.mark.slow
def test_cli_fault_and_limit_flags() -> None:
    with _running("--fault", "lock_row,times=1", "--daily-api-limit", "3", "--latency-ms", "1") as (
        base_url,
        details,
    ):
        sf = _login(base_url, details)
        first = requests.post(
            f"{base_url}/services/data/v59.0/sobjects/Lead/",
            json={"LastName": "A", "Company": "B"},
            headers={"Authorization": f"Bearer {sf.session_id}"},
            timeout=10,
        )
        limits = sf.limits()
        settings = requests.get(f"{base_url}/__emulator/settings", timeout=10).json()

    assert first.status_code == 400
    assert first.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert limits["DailyApiRequests"]["Max"] == 3
    assert settings["latency_ms"] == 1.0


def test_parse_fault_option() -> None:
    assert parse_fault_option("validation,field=Status__c,message=Locked,times=2") == {
        "kind": "validation",
        "field": "Status__c",
        "message": "Locked",
        "times": 2,
    }
    assert parse_fault_option("unavailable,probability=0.25") == {
        "kind": "unavailable",
        "probability": 0.25,
    }
    with pytest.raises(ValidationError):
        parse_fault_option("lock_row,times")
    with pytest.raises(ValidationError):
        parse_fault_option("lock_row,times=many")


def test_cli_rejects_bad_fault() -> None:
    result = CliRunner().invoke(main_app, ["emulate", "salesforce", "--fault", "meteor"])

    assert result.exit_code == 2
    assert "kind" in result.output
