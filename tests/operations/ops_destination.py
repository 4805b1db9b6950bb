"""An in-process destination that records when it sent what, how many ran at once, and fails on script."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

from docrelay.delivery.destinations.base import DestinationRegistry
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.repository import DeliveryJob

OPS_KIND = "ops_recorder"


def unavailable() -> AttemptOutcome:
    return AttemptOutcome(
        OutcomeKind.RETRY,
        error_class="http_503",
        message="Service Unavailable",
        response_status=503,
        request_summary="POST https://hooks.example.test/docrelay",
    )


@dataclasses.dataclass
class Sent:
    at: float
    delivery_id: str
    document_id: str
    design_id: str
    sequence: int
    event: str
    attempt: int


@dataclasses.dataclass
class TimedRecorder:
    """Records each send with its monotonic time; ``decide`` may return an outcome other than delivered."""

    delay: float = 0.0
    decide: Callable[[DeliveryJob], AttemptOutcome | None] | None = None
    sent: list[Sent] = dataclasses.field(default_factory=list)
    running: int = 0
    max_concurrent: int = 0

    async def send(self, job: DeliveryJob) -> AttemptOutcome:
        claimed = job.claimed
        self.running += 1
        self.max_concurrent = max(self.max_concurrent, self.running)
        try:
            self.sent.append(
                Sent(
                    time.monotonic(),
                    claimed.id,
                    claimed.document_id,
                    claimed.design_id,
                    claimed.sequence,
                    claimed.event_type,
                    claimed.attempt_number,
                )
            )
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        decided = self.decide(job) if self.decide is not None else None
        return decided or AttemptOutcome(OutcomeKind.DELIVERED, response_status=200)

    async def close(self) -> None:
        return None


@dataclasses.dataclass
class Ops:
    account_id: str
    context_id: str
    design_id: str
    recorder: TimedRecorder
    registry: DestinationRegistry
