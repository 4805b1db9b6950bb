"""Fixtures for end-to-end web-notification tests: a scripted receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hook_receiver import HookReceiver


@pytest.fixture
def hook_receiver() -> Iterator[HookReceiver]:
    """A running receiver on a free port of 127.0.0.1, stopped after the test."""
    server = HookReceiver()
    server.start()
    yield server
    server.stop()
