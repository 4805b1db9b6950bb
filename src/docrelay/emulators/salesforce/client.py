"""Building a simple-salesforce client aimed at an emulator, for tests and the demo."""

from __future__ import annotations

import dataclasses
from typing import Any

from simple_salesforce import Salesforce

from docrelay.emulators.salesforce.server import SalesforceEmulator
from docrelay.salesforce.routing import make_session

AUTH_METHODS = ("password", "oauth_password", "jwt", "client_credentials")


def connect(emulator: SalesforceEmulator, auth: str = "password", **overrides: Any) -> Salesforce:
    """Log in to ``emulator`` with simple-salesforce through DocRelay's routing session.

    ``auth`` picks the flow: ``password`` (SOAP login with security token),
    ``oauth_password``, ``jwt`` or ``client_credentials``. ``overrides`` replace
    or add keyword arguments of ``Salesforce(...)``, for example a wrong password.
    """
    org = emulator.org
    arguments: dict[str, Any]
    if auth == "password":
        arguments = {
            "username": org.username,
            "password": org.password,
            "security_token": org.security_token,
        }
    elif auth == "oauth_password":
        arguments = {
            "username": org.username,
            "password": org.password + org.security_token,
            "consumer_key": org.consumer_key,
            "consumer_secret": org.consumer_secret,
        }
    elif auth == "jwt":
        arguments = {
            "username": org.username,
            "consumer_key": org.consumer_key,
            "privatekey": org.private_key_pem,
        }
    elif auth == "client_credentials":
        arguments = {
            "consumer_key": org.consumer_key,
            "consumer_secret": org.consumer_secret,
            "domain": org.settings.my_domain.removesuffix(".salesforce.com"),
        }
    else:
        raise ValueError(f"unknown auth {auth!r}; use one of {', '.join(AUTH_METHODS)}")
    arguments.update(overrides)
    arguments.setdefault("session", make_session(emulator.base_url))
    return Salesforce(**arguments)


@dataclasses.dataclass
class Target:
    """An org a contract test runs against: a logged-in client and the emulator, if it is one."""

    sf: Salesforce
    emulator: SalesforceEmulator | None
    created: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def track(self, object_name: str, record_id: str) -> str:
        """Remember a record to delete after the test (matters on a real org)."""
        self.created.append((object_name, record_id))
        return record_id
