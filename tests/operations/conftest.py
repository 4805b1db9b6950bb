"""Fixtures for the operations tests: tracked accounts, a timed recording destination, SMTP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The engine tests' row builders (delivery_factory) are reused here as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from delivery_factory import add_design, set_tracking
from ops_destination import OPS_KIND, Ops, TimedRecorder

from docrelay.delivery.destinations.base import DestinationRegistry
from docrelay.runtime import Runtime


@pytest.fixture
def ops(runtime: Runtime, user) -> Ops:
    """The user's account with tracking on, a recorder design (no retry waits) and its registry."""
    set_tracking(runtime, user.account_id, True)
    design = add_design(
        runtime,
        user.account_id,
        OPS_KIND,
        "Ops recorder",
        retry_policy={"delays_seconds": [0] * 8, "jitter": 0},
    )
    recorder = TimedRecorder()
    registry = DestinationRegistry()
    registry.register(OPS_KIND, recorder)
    registry.register("salesforce_status", recorder)
    registry.register("salesforce_status_with_document", recorder)
    return Ops(user.account_id, user.context_id, design, recorder, registry)
