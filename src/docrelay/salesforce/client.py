"""Logged-in Salesforce sessions, one per credential, shared by every delivery.

simple-salesforce logs in; after that DocRelay sends REST calls itself
through the same ``requests.Session``, for three reasons found in
simple-salesforce 1.12.10:

- its automatic re-login on 401 recurses without bound on ``SFType`` calls
  (``sf.Lead.upsert``) when a fresh session is refused too, and is not
  synchronised between threads;
- ``SFType.create/update/upsert`` accept no timeout (the session's
  :class:`~docrelay.salesforce.routing.TimeoutAdapter` supplies one anyway);
- ``sf.api_usage`` is not updated by ``SFType`` calls, so the
  ``Sforce-Limit-Info`` header is read here from every response.

A connection re-logs in at most once per call, on ``401 INVALID_SESSION_ID``,
and only when no other thread has already replaced the rejected session;
logins are serialised by a lock.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from docrelay.salesforce.credential import API_VERSION, SalesforceCredential
from docrelay.salesforce.errors import SalesforceApiError
from docrelay.salesforce.routing import make_session

logger = logging.getLogger(__name__)

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
USAGE_FLUSH_SECONDS = 5.0

UsageSink = Callable[[int, int], None]
"""Receives (used, allocation) from ``Sforce-Limit-Info``."""


class SalesforceConnection:
    """A session to one org for one credential version; safe to share between threads."""

    def __init__(
        self,
        credential: SalesforceCredential,
        http: requests.Session,
        usage_sink: UsageSink | None = None,
    ):
        self.credential = credential
        self.http = http
        self._usage_sink = usage_sink
        self._lock = threading.Lock()
        self._session_id: str | None = None
        self._base_url: str | None = None
        self.login_count = 0
        self.usage: tuple[int, int] | None = None
        self._usage_flushed_at = 0.0

    # --- login ---------------------------------------------------------------------------

    def _ensure_session(self, rejected: str | None = None) -> tuple[str, str]:
        """Return (session id, data base URL), logging in when there is none or ``rejected`` is current."""
        with self._lock:
            if self._session_id is not None and self._session_id != rejected:
                assert self._base_url is not None
                return self._session_id, self._base_url
            client = self.credential.login(self.http)
            self.login_count += 1
            self._session_id = client.session_id
            self._base_url = f"https://{client.sf_instance}/services/data/v{API_VERSION}/"
            logger.info(
                "Logged in to Salesforce (%s, login %d of this connection)",
                self.credential.auth_method,
                self.login_count,
                extra={"action": "salesforce_login", "auth_method": self.credential.auth_method},
            )
            return self._session_id, self._base_url

    # --- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one REST call (``path`` relative to ``/services/data/vNN.N/``) and return a 2xx response.

        On ``401 INVALID_SESSION_ID`` it logs in again once and repeats the
        call. Raises :class:`SalesforceApiError` for an error response.
        Network errors propagate.
        """
        session_id, base_url = self._ensure_session()
        response = self._send(method, base_url + path, session_id, json, files, params)
        if response.status_code == 401 and _is_invalid_session(response):
            logger.info(
                "Salesforce session expired; logging in again",
                extra={"action": "salesforce_session_expired"},
            )
            session_id, base_url = self._ensure_session(rejected=session_id)
            response = self._send(method, base_url + path, session_id, json, files, params)
        self._record_usage(response)
        if response.status_code >= 300:
            raise SalesforceApiError.from_response(
                response, request=f"{method} /services/data/v{API_VERSION}/{path}"
            )
        return response

    def _send(
        self,
        method: str,
        url: str,
        session_id: str,
        json: Any,
        files: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {session_id}", "Accept": "application/json"}
        # With files, requests builds the multipart/form-data content type and boundary itself.
        return self.http.request(
            method, url, headers=headers, json=json, files=files, params=params
        )

    def _record_usage(self, response: requests.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match is None:
            return
        self.usage = (int(match.group(1)), int(match.group(2)))
        now = time.monotonic()
        if self._usage_sink is not None and now - self._usage_flushed_at >= USAGE_FLUSH_SECONDS:
            self._usage_flushed_at = now
            try:
                self._usage_sink(*self.usage)
            except Exception:
                logger.exception(
                    "Recording Salesforce API usage failed",
                    extra={"action": "salesforce_usage_failed"},
                )

    def close(self) -> None:
        self.http.close()


def _is_invalid_session(response: requests.Response) -> bool:
    try:
        payload = response.json()
    except ValueError:
        return False
    return (
        isinstance(payload, list)
        and bool(payload)
        and isinstance(payload[0], dict)
        and payload[0].get("errorCode") == "INVALID_SESSION_ID"
    )


class ConnectionCache:
    """Connections keyed by (account id, credential version, route); an old version is closed on change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[tuple[str, int, str | None], SalesforceConnection] = {}

    def get(
        self,
        account_id: str,
        credential_version: int,
        factory: Callable[[], SalesforceCredential],
        *,
        route_to: str | None,
        connect_timeout: float,
        read_timeout: float,
        usage_sink: UsageSink | None = None,
    ) -> SalesforceConnection:
        """Return the cached connection for this credential version, creating it on first use."""
        key = (account_id, credential_version, route_to)
        with self._lock:
            connection = self._connections.get(key)
            if connection is not None:
                return connection
            stale = [old for old in self._connections if old[0] == account_id and old != key]
            for old in stale:
                self._connections.pop(old).close()
            http = make_session(route_to, connect_timeout, read_timeout)
            connection = SalesforceConnection(factory(), http, usage_sink)
            self._connections[key] = connection
            return connection

    def clear(self) -> None:
        with self._lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()


SHARED_CACHE = ConnectionCache()
"""The process-wide cache: every worker in a process reuses one login per credential."""
