"""Fixtures: an account whose Salesforce credential points at the emulator, and a Lead to link to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from salesforce_org import Org

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.runtime import Runtime
from docrelay.salesforce.client import SHARED_CACHE

FAST_RETRIES = {"delays_seconds": [0.05] * 8, "jitter": 0}


@pytest.fixture(autouse=True)
def _close_salesforce_sessions() -> Iterator[None]:
    yield
    SHARED_CACHE.clear()


@pytest.fixture
def org(runtime: Runtime, user, salesforce_emulator: SalesforceEmulator, salesforce_client) -> Org:
    runtime.settings.salesforce_route_url = salesforce_emulator.base_url
    runtime.settings.salesforce_read_timeout = 5
    lead = salesforce_client.Lead.create(
        {"LastName": "Doe", "FirstName": "Jane", "Company": "Acme"}
    )
    wired = Org(salesforce_emulator, user.account_id, lead["id"], runtime)
    wired.update_account(tracking_enabled=True, retry_policy=FAST_RETRIES)
    wired.store_credential()
    salesforce_emulator.clear_calls()
    return wired


@pytest.fixture
def completed_pdf(runtime: Runtime, sample_pdf_dir: Path) -> tuple[str, bytes]:
    """A real PDF in the blob store, standing in for a sealed document."""
    path = sorted(sample_pdf_dir.glob("*.pdf"))[0]
    data = path.read_bytes()
    key = "tests/completed.pdf"
    runtime.blobs.put(key, data)
    return key, data
