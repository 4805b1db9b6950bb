"""Save-time checks of web notification designs: URL, merge fields with template parameters, checks."""

from __future__ import annotations

import pytest
from webhook_flow import create_template

from docrelay.errors import ValidationError
from docrelay.webhooks.design_rules import account_parameter_names, validate_webhook_design


def _problems(
    runtime, account_id: str, config: dict, allowed_events=None, networks=None
) -> list[tuple[str, str]]:
    with runtime.database.session() as session, pytest.raises(ValidationError) as caught:
        validate_webhook_design(session, account_id, config, allowed_events, networks)
    return caught.value.errors


def _passes(runtime, account_id: str, config: dict, allowed_events=None, networks=None) -> None:
    with runtime.database.session() as session:
        validate_webhook_design(session, account_id, config, allowed_events, networks)


def test_template_parameters_become_merge_fields(runtime, user) -> None:
    config = {"url": "https://hooks.example.com/in", "body_template": '{"po": "[PO]"}'}
    before = _problems(runtime, user.account_id, config)
    assert before == [("config.body_template", "unknown merge field [PO]")]

    create_template(user.client)
    with runtime.database.session() as session:
        assert account_parameter_names(session, user.account_id) == {"PO"}
    _passes(runtime, user.account_id, config)


def test_other_accounts_parameters_stay_unknown(runtime, user, other_user) -> None:
    create_template(other_user.client)
    config = {"url": "https://hooks.example.com/in", "body_template": '{"po": "[PO]"}'}
    assert _problems(runtime, user.account_id, config)[0][0] == "config.body_template"


def test_unknown_tag_is_named_with_a_suggestion(runtime, user) -> None:
    config = {"url": "https://hooks.example.com/in", "body_template": '{"id": "[Document Idd]"}'}
    ((field, message),) = _problems(runtime, user.account_id, config)
    assert field == "config.body_template"
    assert "[Document Idd]" in message
    assert "[Document ID]" in message


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/in", "https://user@hooks.example.com/", "not a url"]
)
def test_bad_url_is_rejected(runtime, user, url: str) -> None:
    fields = [field for field, _ in _problems(runtime, user.account_id, {"url": url})]
    assert fields == ["config.url"]


def test_literal_private_address_needs_allowed_network(runtime, user) -> None:
    config = {"url": "http://10.1.2.3/in"}
    _passes(runtime, user.account_id, config)  # syntax only
    assert [field for field, _ in _problems(runtime, user.account_id, config, networks=())] == [
        "config.url"
    ]
    _passes(runtime, user.account_id, config, networks=runtime.settings.allowed_networks + _ten())


def test_every_problem_is_listed(runtime, user) -> None:
    config = {
        "url": "ftp://x",
        "body_template": '{"a": "[Nope]"}',
        "response_checks": [
            {"source": "json_path", "operator": "equals", "value": "x"},
            {"source": "header"},
        ],
    }
    fields = [field for field, _ in _problems(runtime, user.account_id, config)]
    assert "config.url" in fields
    assert "config.body_template" in fields
    assert any(field.startswith("config.response_checks[1]") for field in fields)


def _ten() -> list:
    import ipaddress

    return [ipaddress.ip_network("10.0.0.0/8")]
