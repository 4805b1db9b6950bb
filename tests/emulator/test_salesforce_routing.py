"""The routing session that aims simple-salesforce at a local server."""

from __future__ import annotations

import pytest
import requests

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.errors import ConfigurationError
from docrelay.salesforce.routing import RoutingAdapter, TimeoutAdapter, make_session


def test_https_calls_reach_route(salesforce_emulator: SalesforceEmulator) -> None:
    session = make_session(salesforce_emulator.base_url)

    response = session.get("https://acme.my.salesforce.com/services/data/?x=1")

    assert response.status_code == 200
    assert response.url.startswith(salesforce_emulator.base_url + "/services/data/")
    log = salesforce_emulator.calls()["calls"]
    assert log[-1]["path"] == "/services/data/"


def test_original_host_forwarded(salesforce_emulator: SalesforceEmulator) -> None:
    session = make_session(salesforce_emulator.base_url)
    org = salesforce_emulator.org

    response = session.post(
        "https://docrelay-emulator.my.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(org.consumer_key, org.consumer_secret),
    )

    assert response.status_code == 200
    assert response.request.headers["X-Forwarded-Host"] == "docrelay-emulator.my.salesforce.com"


def test_route_with_path_prefix() -> None:
    adapter = RoutingAdapter("http://127.0.0.1:9/prefix/", 1, 1)

    assert adapter.route_to.path == "/prefix/"


@pytest.mark.parametrize("route", ["127.0.0.1:8000", "ftp://host", "http://", "http://h/?q=1"])
def test_bad_route_rejected(route: str) -> None:
    with pytest.raises(ConfigurationError):
        make_session(route)


def test_no_route_keeps_urls_and_sets_timeouts() -> None:
    session = make_session(None, connect_timeout=3, read_timeout=7)

    adapter = session.get_adapter("https://login.salesforce.com")

    assert isinstance(adapter, TimeoutAdapter)
    assert not isinstance(adapter, RoutingAdapter)
    assert adapter.default_timeout == (3, 7)
    assert isinstance(session.get_adapter("http://127.0.0.1"), TimeoutAdapter)


def test_default_read_timeout_applies(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.add_fault("delay", seconds=1.0, include_auth=True)
    session = make_session(salesforce_emulator.base_url, connect_timeout=2, read_timeout=0.2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post("https://login.salesforce.com/services/oauth2/token", data={})


def test_explicit_timeout_wins(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.add_fault("delay", seconds=0.3, include_auth=True)
    session = make_session(salesforce_emulator.base_url, connect_timeout=2, read_timeout=0.1)

    response = session.post(
        "https://login.salesforce.com/services/oauth2/token", data={}, timeout=5
    )

    assert response.status_code == 400
