"""Destinations: where deliveries go, one object per design kind."""

from docrelay.delivery.destinations.base import Destination, DestinationRegistry, build_registry

__all__ = ["Destination", "DestinationRegistry", "build_registry"]
