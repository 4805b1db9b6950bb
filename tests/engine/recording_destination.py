"""An in-process destination for engine tests: it records what it sends and returns scripted outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from docrelay.delivery.destinations.base import DestinationRegistry
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.repository import DeliveryJob

RECORDER_KIND = "test_recorder"


@dataclass
class RecordingDestination:
    """A destination that records each job and returns scripted outcomes (default: delivered)."""

    delay: float = 0.0
    outcomes: list[AttemptOutcome] = field(default_factory=list)
    decide: Callable[[DeliveryJob], AttemptOutcome | None] | None = None
    sent: list[tuple[str, int, str]] = field(default_factory=list)
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    overlaps: int = 0

    async def send(self, job: DeliveryJob) -> AttemptOutcome:
        pair = (job.claimed.document_id, job.claimed.design_id)
        if pair in self.in_flight:
            self.overlaps += 1
        self.in_flight.add(pair)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight.discard(pair)
        self.sent.append((job.claimed.document_id, job.claimed.sequence, job.claimed.event_type))
        if self.decide is not None:
            decided = self.decide(job)
            if decided is not None:
                return decided
        if self.outcomes:
            return self.outcomes.pop(0)
        return AttemptOutcome(OutcomeKind.DELIVERED, response_status=200, result={"ok": True})

    async def close(self) -> None:
        return None


@dataclass
class Tracked:
    account_id: str
    design_id: str
    recorder: RecordingDestination
    registry: DestinationRegistry
