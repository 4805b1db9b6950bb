"""The destination interface and the registry that maps design kinds to destinations.

A destination sends one delivery and turns whatever happened (a response, an
exception, a timeout) into an :class:`AttemptOutcome` at its own boundary.
A failed send returns an outcome instead of raising. The worker treats an
exception that escapes ``send`` as a bug: it logs it and records a
retryable ``internal_error`` attempt.

The worker awaits ``send`` on its event loop, so a destination built on a
blocking client (simple-salesforce) runs that client in its own bounded
thread pool, and one built on aiohttp just awaits.

Plugging in a destination::

    registry = build_registry(runtime)
    registry.register("webhook", MyWebhookDestination(runtime))

:func:`build_registry` registers the Salesforce destinations and, when the
module exists, the web notification destination from
``docrelay.webhooks.destination`` (a ``create_destination(runtime)`` function
returning an object with this interface).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind

if TYPE_CHECKING:
    from docrelay.delivery.repository import DeliveryJob
    from docrelay.runtime import Runtime

logger = logging.getLogger(__name__)


@runtime_checkable
class Destination(Protocol):
    """Sends deliveries of one or more design kinds."""

    async def send(self, job: DeliveryJob) -> AttemptOutcome:
        """Send ``job`` once and classify the result."""
        ...

    async def close(self) -> None:
        """Release connections and threads; called when the worker stops."""
        ...


class DestinationRegistry:
    """Design kind -> destination."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Destination] = {}

    def register(self, kind: str, destination: Destination) -> None:
        self._by_kind[kind] = destination

    def get(self, kind: str) -> Destination | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    async def close(self) -> None:
        closed: set[int] = set()
        for destination in self._by_kind.values():
            if id(destination) in closed:
                continue
            closed.add(id(destination))
            try:
                await destination.close()
            except Exception:
                logger.exception(
                    "Closing a destination failed", extra={"action": "destination_close_failed"}
                )


def unknown_kind_outcome(kind: str) -> AttemptOutcome:
    return AttemptOutcome(
        OutcomeKind.FAIL,
        error_class="no_destination",
        message=f"No destination is installed for design kind {kind!r}; this DocRelay build cannot send it.",
    )


def build_registry(runtime: Runtime) -> DestinationRegistry:
    """Return a registry with every destination this installation provides."""
    from docrelay.salesforce.destination import SalesforceDestination

    registry = DestinationRegistry()
    salesforce = SalesforceDestination(runtime)
    registry.register("salesforce_status", salesforce)
    registry.register("salesforce_status_with_document", salesforce)

    try:
        webhooks = importlib.import_module("docrelay.webhooks.destination")
    except ModuleNotFoundError as exc:
        if exc.name != "docrelay.webhooks.destination":
            raise
        logger.warning(
            "Web notification destination not installed; webhook deliveries will fail",
            extra={"action": "destination_missing", "kind": "webhook"},
        )
    else:
        registry.register("webhook", webhooks.create_destination(runtime))
    return registry
