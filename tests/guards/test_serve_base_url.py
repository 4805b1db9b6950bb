from __future__ import annotations

from docrelay.cli.admin import effective_base_url
from docrelay.config import load_settings


def test_links_follow_the_served_port() -> None:
    assert effective_base_url(load_settings(), "127.0.0.1", 18731) == "http://127.0.0.1:18731"


def test_wildcard_address_becomes_loopback() -> None:
    assert effective_base_url(load_settings(), "0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert effective_base_url(load_settings(), "::1", 9000) == "http://[::1]:9000"


def test_configured_base_url_wins() -> None:
    settings = load_settings(base_url="https://sign.example.com")
    assert effective_base_url(settings, "127.0.0.1", 9000) == "https://sign.example.com"
