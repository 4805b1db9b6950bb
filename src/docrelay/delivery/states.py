"""Delivery states."""

from __future__ import annotations

import enum


class DeliveryState(enum.StrEnum):
    """Where a delivery stands. Final states: delivered, superseded, failed."""

    PENDING = "pending"
    """Waiting for its first attempt (or for an earlier delivery of its pair)."""
    IN_FLIGHT = "in_flight"
    """Claimed by a worker under a lease; being sent now."""
    DELIVERED = "delivered"
    """Accepted by the destination."""
    RETRYING = "retrying"
    """Failed passingly; waiting for the next attempt on the retry schedule."""
    PAUSED = "paused"
    """Parked without spending attempts: its credential was rejected or tracking is off."""
    SUPERSEDED = "superseded"
    """Not sent: a newer status update for the same document and design replaced it."""
    FAILED = "failed"
    """Failed permanently or exhausted its retry policy; can be resent by hand."""


FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.SUPERSEDED, DeliveryState.FAILED})
WAITING_STATES = frozenset({DeliveryState.PENDING, DeliveryState.RETRYING})
