"""The internal request and reply of one REST call.

HTTP handlers and the Composite resource both describe a call as a
:class:`Call` and get a :class:`Reply` back, so a subrequest inside
``/composite`` runs exactly the code a direct request runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

JSON_TYPE = "application/json;charset=UTF-8"


@dataclasses.dataclass
class Call:
    """One REST call after authentication: method, path below the host, query, parsed body."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    user_id: str
    blob: bytes | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Reply:
    """Response to send: status, JSON-able body (or raw bytes) and extra headers."""

    status: int
    body: Any = None
    kind: str = "other"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str = JSON_TYPE
