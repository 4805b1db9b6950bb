"""HTTP session for simple-salesforce: optional routing to another base URL, and timeouts.

simple-salesforce (1.12.10) builds every URL itself and always with
``https://``: the SOAP login goes to ``https://{domain}.salesforce.com`` and
REST calls to ``https://{instance}`` taken from the login response. It offers
no setting to use plain HTTP or another host. So DocRelay's connection
setting (``salesforce_route_url``, passed here as ``route_to``, for example
``http://127.0.0.1:8765`` for the Salesforce emulator) works one level lower.
:class:`RoutingAdapter` is mounted on ``https://`` of the ``requests.Session``
handed to ``Salesforce(session=...)``. It replaces the scheme and host of each
request with those of ``route_to`` and keeps path and query. Login, REST calls
and automatic re-login all share the session, so all of them reach the
configured server whatever host it advertises. The
original host is passed on in ``X-Forwarded-Host`` because some Salesforce
rules depend on it (client credentials are refused on ``login.salesforce.com``).
The setting is meant for the emulator and test servers; leave it unset to talk
to Salesforce itself.

simple-salesforce also sets no timeout on any request, and ``create``,
``update``, ``upsert`` and ``delete`` accept no ``timeout`` argument, so a
stalled connection would block forever. Both adapters here apply a default
``(connect, read)`` timeout to every request that does not set its own.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from docrelay.errors import ConfigurationError

FORWARDED_HOST_HEADER = "X-Forwarded-Host"


class TimeoutAdapter(HTTPAdapter):
    """Transport adapter that applies a default ``(connect, read)`` timeout."""

    def __init__(self, connect_timeout: float, read_timeout: float, **kwargs: Any) -> None:
        self.default_timeout = (connect_timeout, read_timeout)
        super().__init__(**kwargs)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if timeout is None:
            timeout = self.default_timeout
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


class RoutingAdapter(TimeoutAdapter):
    """Transport adapter that sends each request to ``route_to`` instead of its own host."""

    def __init__(
        self, route_to: str, connect_timeout: float, read_timeout: float, **kwargs: Any
    ) -> None:
        self.route_to = parse_route(route_to)
        super().__init__(connect_timeout, read_timeout, **kwargs)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        original = urllib.parse.urlsplit(request.url or "")
        request.url = urllib.parse.urlunsplit(
            (
                self.route_to.scheme,
                self.route_to.netloc,
                self.route_to.path.rstrip("/") + original.path,
                original.query,
                original.fragment,
            )
        )
        request.headers[FORWARDED_HOST_HEADER] = original.netloc
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def parse_route(route_to: str) -> urllib.parse.SplitResult:
    """Parse and check a ``route_to`` base URL; raise ConfigurationError when it is unusable."""
    parts = urllib.parse.urlsplit(route_to)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"salesforce route_to {route_to!r} is not a base URL; "
            "use the form http://127.0.0.1:8765 (scheme, host and optional port)"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"salesforce route_to {route_to!r} must not contain a query or fragment"
        )
    return parts


def make_session(
    route_to: str | None,
    connect_timeout: float = 10,
    read_timeout: float = 60,
) -> requests.Session:
    """Build a ``requests.Session`` for ``Salesforce(session=...)``.

    With ``route_to`` set, every ``https://`` request goes to that base URL;
    with ``None`` requests go where simple-salesforce sends them. Timeouts are
    in seconds and apply in both cases.
    """
    session = requests.Session()
    plain = TimeoutAdapter(connect_timeout, read_timeout)
    session.mount("http://", plain)
    if route_to is None:
        session.mount("https://", TimeoutAdapter(connect_timeout, read_timeout))
    else:
        session.mount("https://", RoutingAdapter(route_to, connect_timeout, read_timeout))
    return session
