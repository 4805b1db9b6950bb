from __future__ import annotations

import logging

import pytest

from docrelay.config import load_settings
from docrelay.errors import ConfigurationError


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"log_level": "LOUD"}, "DOCRELAY_LOG_LEVEL"),
        ({"database_url": "mysql://db.example/docrelay"}, "DOCRELAY_DATABASE_URL"),
        ({"base_url": "not a url"}, "DOCRELAY_BASE_URL"),
        ({"port": 70000}, "DOCRELAY_PORT"),
        ({"allowed_destination_networks": "10.0.0.0/33"}, "DOCRELAY_ALLOWED_DESTINATION_NETWORKS"),
    ],
)
def test_invalid_setting_names_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(**overrides)


def test_unknown_variable_is_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DOCRELAY_PROT", "9000")
    with caplog.at_level(logging.WARNING, logger="docrelay.config"):
        load_settings()
    assert "DOCRELAY_PROT" in caplog.text


def test_base_url_loses_trailing_slash() -> None:
    assert (
        load_settings(base_url="https://sign.example.com/").base_url == "https://sign.example.com"
    )
