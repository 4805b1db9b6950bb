"""The demo: one document from template to sealed PDF, verified in the Salesforce org.

It runs the product as a user would, over HTTP: the REST API to set up and
send, the signing API to sign, and it judges the result only by reading the
emulated org back (its records and stored file), never by trusting DocRelay's
own view of its deliveries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, cast

import requests
from rich.console import Console
from rich.table import Table

from docrelay.accounts.service import create_account, create_api_key
from docrelay.config import Settings, load_settings
from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.runtime import Runtime
from docrelay.storage import migrate
from docrelay.web.app import create_app

from .servers import ServerThread

logger = logging.getLogger(__name__)

STATUS_OBJECT = "DocRelay_Document__c"
SIGNERS = (("Dana Reyes", "dana.reyes@example.com"), ("Sam Okafor", "sam.okafor@example.com"))


@dataclasses.dataclass
class DemoOptions:
    pdf: Path | None = None
    data_dir: Path | None = None
    keep_running: bool = False
    timeout: float = 60.0


class DemoFailure(Exception):
    """A step of the demo could not be verified."""


@dataclasses.dataclass
class StatusSighting:
    code: str
    name: str
    changed_at: str
    sequence: int
    seen_after: float


@dataclasses.dataclass
class DemoReport:
    statuses: list[StatusSighting] = dataclasses.field(default_factory=list)
    file: dict[str, Any] | None = None
    api_calls: int = 0
    logins: int = 0
    latencies_ms: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


class DocRelayClient:
    """A thin HTTP client for DocRelay's API, raising DemoFailure with the problem detail."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    def call(
        self, method: str, path: str, expected: int | tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> Any:
        response = self.http.request(method, self.base_url + path, timeout=60, **kwargs)
        codes = (expected,) if isinstance(expected, int) else expected
        if response.status_code not in codes:
            raise DemoFailure(
                f"{method} {path} returned HTTP {response.status_code}: {response.text[:500]}"
            )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content


def _demo_pdf(options: DemoOptions) -> tuple[str, bytes]:
    if options.pdf is not None:
        return options.pdf.name, options.pdf.read_bytes()
    asset = resources.files("docrelay.demo_assets").joinpath("sample-agreement.pdf")
    return "sample-agreement.pdf", asset.read_bytes()


def _template_definition() -> dict[str, Any]:
    """Two signatories in two steps, each with a signature and a date field (A4 and Letter safe)."""
    return {
        "name": "Demo Services Agreement",
        "signatories": [{"name": "Customer"}, {"name": "Provider"}],
        "steps": [[1], [2]],
        "expiration_days": 30,
        "fields": [
            {
                "name": "customer_signature",
                "type": "signature",
                "page": 1,
                "x": 72,
                "y": 560,
                "width": 200,
                "height": 50,
                "signatory": 1,
                "required": True,
            },
            {
                "name": "customer_date",
                "type": "date_signed",
                "page": 1,
                "x": 72,
                "y": 620,
                "width": 150,
                "height": 18,
                "signatory": 1,
                "required": True,
            },
            {
                "name": "provider_signature",
                "type": "signature",
                "page": 1,
                "x": 320,
                "y": 560,
                "width": 200,
                "height": 50,
                "signatory": 2,
                "required": True,
            },
            {
                "name": "provider_date",
                "type": "date_signed",
                "page": 1,
                "x": 320,
                "y": 620,
                "width": 150,
                "height": 18,
                "signatory": 2,
                "required": True,
            },
        ],
    }


def _wait_for(what: str, probe: Callable[[], Any], timeout: float, console: Console) -> Any:
    """Poll ``probe`` until it returns something truthy; raise DemoFailure naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    with console.status(f"Waiting for {what} ..."):
        while time.monotonic() < deadline:
            result = probe()
            if result:
                return result
            time.sleep(0.05)
    raise DemoFailure(f"timed out after {timeout:.0f} s waiting for {what}")


def _status_record(emulator: SalesforceEmulator, document_id: str) -> dict[str, Any] | None:
    for record in emulator.live_records(STATUS_OBJECT):
        if record.get("DocRelay_Id__c") == document_id:
            return record
    return None


@contextlib.contextmanager
def _stack(
    options: DemoOptions, console: Console
) -> Iterator[tuple[SalesforceEmulator, ServerThread, Runtime]]:
    """Start the emulator and DocRelay (worker included) and stop both afterwards."""
    temporary = None
    data_dir = options.data_dir
    if data_dir is None:
        temporary = tempfile.mkdtemp(prefix="docrelay-demo-")
        data_dir = Path(temporary)
    emulator = SalesforceEmulator().start()
    runtime: Runtime | None = None
    server: ServerThread | None = None
    try:
        server_port = _free_port()
        settings: Settings = load_settings(
            data_dir=data_dir,
            base_url=f"http://127.0.0.1:{server_port}",
            salesforce_route_url=emulator.base_url,
            poll_interval=0.5,
        )
        runtime = Runtime.from_settings(settings)
        migrate.upgrade(runtime.database)
        server = ServerThread(create_app(runtime, run_background=True), port=server_port)
        server.start()
        console.print(f"[green]✓[/] Salesforce emulator at {emulator.base_url}/__emulator/")
        console.print(f"[green]✓[/] DocRelay at {server.base_url}/api/v1/docs (data in {data_dir})")
        yield emulator, server, runtime
    finally:
        if server is not None:
            server.stop()
        if runtime is not None:
            runtime.close()
        emulator.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo and print its report; return the process exit code (0 only when verified)."""
    console = console or Console()
    report = DemoReport()
    try:
        with _stack(options, console) as (emulator, server, runtime):
            _run_flow(options, console, emulator, server, runtime, report)
            _print_report(console, report)
            if options.keep_running and not report.problems:
                _keep_running(console, emulator, server)
    except DemoFailure as failure:
        report.problems.append(str(failure))
        _print_report(console, report)
    if report.problems:
        console.print("[bold red]Demo failed:[/] " + "; ".join(report.problems))
        return 1
    console.print(
        "[bold green]Demo verified:[/] every status and the sealed PDF reached the Salesforce org."
    )
    return 0


def _run_flow(
    options: DemoOptions,
    console: Console,
    emulator: SalesforceEmulator,
    server: ServerThread,
    runtime: Runtime,
    report: DemoReport,
) -> None:
    with runtime.database.transaction() as session:
        account = create_account(session, "Demo Corp", technical_contacts=["ops@example.com"])
        api_key = create_api_key(session, account, "demo").secret
    api = DocRelayClient(server.base_url, api_key)
    console.print("[green]✓[/] Account created with an API key")

    api.call(
        "PATCH",
        "/api/v1/settings",
        json={"tracking_enabled": True, "storage_location": {"location": "file"}},
    )
    org = emulator.org
    api.call(
        "PUT",
        "/api/v1/settings/salesforce-credential",
        json={
            "auth_method": "password",
            "username": org.username,
            "password": org.password,
            "security_token": org.security_token,
            "login_host": "login.salesforce.com",
        },
    )
    console.print("[green]✓[/] Tracking switched on; Salesforce credential stored (encrypted)")

    lead_id = _create_lead(emulator)
    console.print(f"[green]✓[/] Lead {lead_id} created in the org")

    filename, pdf = _demo_pdf(options)
    template = api.call(
        "POST",
        "/api/v1/templates",
        files={"file": (filename, pdf, "application/pdf")},
        data={"definition": json.dumps(_template_definition())},
    )
    console.print(f"[green]✓[/] Template {template['id']} from {filename} ({len(pdf):,} bytes)")

    _attach_workflow(api, template["id"])
    console.print("[green]✓[/] Workflow: status updates on 6 events, sealed PDF on completion")

    emulator.clear_calls()
    started = time.monotonic()
    document = api.call(
        "POST",
        "/api/v1/documents",
        json={
            "template_id": template["id"],
            "name": "Services Agreement for Acme",
            "order_number": "SO-1001",
            "signatories": [{"name": name, "email": email} for name, email in SIGNERS],
            "crm": {"system": "salesforce", "object_type": "Lead", "record_id": lead_id},
        },
    )
    document_id = document["id"]
    _see_status(emulator, document_id, "DCR", started, options.timeout, console, report)

    api.call("POST", f"/api/v1/documents/{document_id}/send")
    _see_status(emulator, document_id, "DSS", started, options.timeout, console, report)

    links = api.call("GET", f"/api/v1/documents/{document_id}/signing-links")
    for link in _links(links):
        _sign(server.base_url, link)
    console.print("[green]✓[/] Both signers signed through the signing API")
    _see_status(emulator, document_id, "DCO", started, options.timeout, console, report)

    sealed = api.call(
        "GET", f"/api/v1/documents/{document_id}/download", params={"type": "completed"}
    )
    _verify_file(emulator, lead_id, sealed, options.timeout, console, report)
    _wait_for(
        "every delivery to finish",
        lambda: _all_delivered(api, document_id),
        options.timeout,
        console,
    )
    calls = emulator.calls()
    report.api_calls = int(calls.get("api_calls", calls.get("total", 0)))
    report.logins = sum(
        count
        for kind, count in calls.get("counts", {}).items()
        if "login" in kind or "token" in kind
    )
    report.latencies_ms = _latencies(api, document_id)


def _create_lead(emulator: SalesforceEmulator) -> str:
    from simple_salesforce import Salesforce, SFType

    from docrelay.salesforce.routing import make_session

    org = emulator.org
    client = Salesforce(
        username=org.username,
        password=org.password,
        security_token=org.security_token,
        session=make_session(emulator.base_url),
    )
    # Attribute access on the client returns a union of API wrappers; Lead is a plain sObject type.
    leads = cast(SFType, client.Lead)
    created = leads.create({"FirstName": "Alex", "LastName": "Morgan", "Company": "Acme Corp"})
    return str(created["id"])


def _attach_workflow(api: DocRelayClient, template_id: str) -> None:
    designs = api.call("GET", "/api/v1/designs")
    items = designs["items"] if isinstance(designs, dict) else designs
    by_kind = {design["kind"]: design["id"] for design in items if design.get("builtin")}
    status_design = by_kind["salesforce_status"]
    document_design = by_kind["salesforce_status_with_document"]
    assignments = [
        {"event": event, "design_id": status_design}
        for event in (
            "document.created",
            "document.started",
            "document.declined",
            "document.expired",
            "document.cancelled",
        )
    ]
    assignments.append({"event": "step.started", "step": None, "design_id": status_design})
    assignments.append({"event": "document.completed", "design_id": document_design})
    api.call("PUT", f"/api/v1/templates/{template_id}/workflow", json={"assignments": assignments})


def _see_status(
    emulator: SalesforceEmulator,
    document_id: str,
    code: str,
    started: float,
    timeout: float,
    console: Console,
    report: DemoReport,
) -> None:
    def probe() -> dict[str, Any] | None:
        record = _status_record(emulator, document_id)
        return record if record and record.get("Status__c") == code else None

    record = _wait_for(f"status {code} in Salesforce", probe, timeout, console)
    sighting = StatusSighting(
        code=code,
        name=str(record.get("Status_Name__c")),
        changed_at=str(record.get("Status_Changed_At__c")),
        sequence=int(float(record.get("Sequence__c") or 0)),
        seen_after=time.monotonic() - started,
    )
    report.statuses.append(sighting)
    console.print(
        f"[green]✓[/] Salesforce shows {code} ({sighting.name}) at {sighting.changed_at}, sequence {sighting.sequence}"
    )


def _links(payload: dict[str, Any]) -> list[str]:
    """Return the signing links in signatory order; both signers must have one."""
    links = sorted(payload["links"], key=lambda item: item["signatory"])
    if len(links) != len(SIGNERS):
        raise DemoFailure(f"expected {len(SIGNERS)} signing links, DocRelay returned {len(links)}")
    return [item["url"] for item in links]


def _sign(base_url: str, link: str) -> None:
    token = link.rstrip("/").rsplit("/", 1)[-1]
    http = requests.Session()
    http.headers["User-Agent"] = "DocRelay demo signer"
    page = http.get(f"{base_url}/sign/{token}", timeout=60)
    if page.status_code != 200:
        raise DemoFailure(
            f"opening the signing link returned HTTP {page.status_code}: {page.text[:300]}"
        )
    info = page.json()
    name = info.get("signatory", {}).get("name", "Signer")
    signed = http.post(
        f"{base_url}/sign/{token}/sign", json={"signature": {"typed_name": name}}, timeout=120
    )
    if signed.status_code != 200:
        raise DemoFailure(
            f"signing as {name} returned HTTP {signed.status_code}: {signed.text[:300]}"
        )


def _verify_file(
    emulator: SalesforceEmulator,
    lead_id: str,
    sealed: bytes,
    timeout: float,
    console: Console,
    report: DemoReport,
) -> None:
    expected = hashlib.sha256(sealed).hexdigest()

    def probe() -> dict[str, Any] | None:
        links = [
            link
            for link in emulator.live_records("ContentDocumentLink")
            if link.get("LinkedEntityId") == lead_id
        ]
        for link in links:
            for version in emulator.live_records("ContentVersion"):
                if version.get("ContentDocumentId") == link.get("ContentDocumentId"):
                    data = emulator.file_bytes(version["Id"])
                    if data is not None:
                        return {"id": version["Id"], "title": version.get("Title"), "data": data}
        return None

    found = _wait_for("the sealed PDF as a File on the Lead", probe, timeout, console)
    actual = hashlib.sha256(found["data"]).hexdigest()
    report.file = {
        "id": found["id"],
        "title": found["title"],
        "size": len(found["data"]),
        "sha256": actual,
        "expected": expected,
    }
    if actual != expected:
        report.problems.append(
            f"the File on the Lead has SHA-256 {actual}, DocRelay's sealed PDF has {expected}"
        )
        return
    console.print(
        f"[green]✓[/] File {found['title']!r} on the Lead: {len(found['data']):,} bytes, SHA-256 {actual[:16]}… matches"
    )


def _all_delivered(api: DocRelayClient, document_id: str) -> bool:
    payload = api.call("GET", f"/api/v1/documents/{document_id}/deliveries")
    items = payload["items"]
    return bool(items) and all(item["state"] in ("delivered", "superseded") for item in items)


def _latencies(api: DocRelayClient, document_id: str) -> list[tuple[str, float]]:
    import datetime as dt

    items = api.call("GET", f"/api/v1/documents/{document_id}/deliveries")["items"]
    latencies = []
    for item in items:
        if item.get("delivered_at") and item.get("created_at"):
            created = dt.datetime.fromisoformat(item["created_at"])
            delivered = dt.datetime.fromisoformat(item["delivered_at"])
            latencies.append((item["event"], (delivered - created).total_seconds() * 1000))
    return latencies


def _print_report(console: Console, report: DemoReport) -> None:
    if report.statuses:
        table = Table(title="Status record in Salesforce (read back from the org)")
        for column in ("status", "name", "changed at", "sequence", "seen after"):
            table.add_column(column)
        for sighting in report.statuses:
            table.add_row(
                sighting.code,
                sighting.name,
                sighting.changed_at,
                str(sighting.sequence),
                f"{sighting.seen_after:.2f} s",
            )
        console.print(table)
    if report.file:
        console.print(
            f"Sealed PDF on the Lead: {report.file['title']} ({report.file['id']}), {report.file['size']:,} bytes, "
            f"SHA-256 {report.file['sha256']}"
        )
    if report.api_calls:
        console.print(
            f"Salesforce API calls used by DocRelay: {report.api_calls} (logins: {report.logins})"
        )
    if report.latencies_ms:
        table = Table(title="Delivery latency (event recorded → accepted by Salesforce)")
        table.add_column("event")
        table.add_column("latency", justify="right")
        for event, milliseconds in report.latencies_ms:
            table.add_row(event, f"{milliseconds:.0f} ms")
        console.print(table)


def _keep_running(console: Console, emulator: SalesforceEmulator, server: ServerThread) -> None:
    console.print(
        f"Servers keep running (Ctrl-C to stop):\n  DocRelay API docs: {server.base_url}/api/v1/docs\n"
        f"  Salesforce emulator: {emulator.base_url}/__emulator/"
    )
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(1)
