"""Targets for the Salesforce contract tests: the emulator, and a real org when configured.

Set ``DOCRELAY_SALESFORCE_TEST_ORG_USERNAME``, ``..._PASSWORD``, ``..._TOKEN`` and
optionally ``..._DOMAIN`` (default ``login``) to also run the contract tests
against a real org. That org needs the ``DocRelay_Document__c`` object. Tests
that need the emulator's admin hooks run on the emulator only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import Target, connect
from docrelay.salesforce.routing import make_session

REAL_ORG_PREFIX = "DOCRELAY_SALESFORCE_TEST_ORG_"


def _real_org_settings() -> dict[str, str] | None:
    names = ("USERNAME", "PASSWORD", "TOKEN")
    values = {name: os.environ.get(REAL_ORG_PREFIX + name) for name in names}
    if not all(values.values()):
        return None
    values["DOMAIN"] = os.environ.get(REAL_ORG_PREFIX + "DOMAIN", "login")
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture(params=["emulator", "real_org"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The org a contract test runs against."""
    if request.param == "emulator":
        with SalesforceEmulator() as emulator:
            yield Target(connect(emulator), emulator)
        return
    settings = _real_org_settings()
    if settings is None:
        pytest.skip(f"no real org configured ({REAL_ORG_PREFIX}USERNAME/PASSWORD/TOKEN)")
    sf = Salesforce(
        username=settings["USERNAME"],
        password=settings["PASSWORD"],
        security_token=settings["TOKEN"],
        domain=settings["DOMAIN"],
        session=make_session(None),
    )
    target = Target(sf, None)
    yield target
    for object_name, record_id in reversed(target.created):
        # Best effort: the record may already be gone, or be deleted with its parent.
        with contextlib.suppress(Exception):
            getattr(sf, object_name).delete(record_id)
