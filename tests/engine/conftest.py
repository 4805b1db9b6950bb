"""Fixtures for engine tests: an account with tracking on and an in-process recording destination."""

from __future__ import annotations

import pytest
from delivery_factory import add_design, set_tracking
from recording_destination import RECORDER_KIND, RecordingDestination, Tracked

from docrelay.delivery.destinations.base import DestinationRegistry
from docrelay.runtime import Runtime


@pytest.fixture
def tracked(runtime: Runtime, user) -> Tracked:
    """The user's account with tracking on, a recorder design and a registry that sends to it."""
    set_tracking(runtime, user.account_id, True)
    design = add_design(
        runtime,
        user.account_id,
        RECORDER_KIND,
        "Recorder",
        retry_policy={"delays_seconds": [0, 0, 0], "jitter": 0},
    )
    recorder = RecordingDestination()
    registry = DestinationRegistry()
    registry.register(RECORDER_KIND, recorder)
    registry.register("salesforce_status", recorder)
    return Tracked(user.account_id, design, recorder, registry)
