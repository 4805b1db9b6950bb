"""The account's Salesforce credential: its stored form, validation and login.

The credential is stored encrypted in ``account.salesforce_credential_encrypted``
as JSON, bound to the account by the encryption purpose
``salesforce-credential:<account id>``. Three methods are supported:

``password``            username, password, security token (appended to the
                        password at SOAP login), ``login_host``
``jwt``                 username, consumer key, RSA private key (PEM), ``login_host``
``client_credentials``  consumer key and secret, ``my_domain`` (Salesforce
                        refuses this flow on login/test.salesforce.com)

Login goes through simple-salesforce; the caller passes the
``requests.Session`` that carries timeouts and optional routing.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import requests
from simple_salesforce import Salesforce

from docrelay.crypto import SecretBox
from docrelay.errors import ValidationError

API_VERSION = "59.0"
AUTH_METHODS = ("password", "jwt", "client_credentials")
_HOST = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.salesforce\.com$"
)


class CredentialMissing(Exception):
    """The account has no Salesforce credential, or it cannot be decrypted or parsed."""


def credential_purpose(account_id: str) -> str:
    """Return the encryption purpose that binds a stored credential to its account."""
    return f"salesforce-credential:{account_id}"


@dataclasses.dataclass(frozen=True)
class SalesforceCredential:
    """A validated credential; ``repr`` hides every secret."""

    auth_method: str
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    security_token: str | None = dataclasses.field(default=None, repr=False)
    login_host: str = "login.salesforce.com"
    consumer_key: str | None = None
    consumer_secret: str | None = dataclasses.field(default=None, repr=False)
    private_key: str | None = dataclasses.field(default=None, repr=False)
    my_domain: str | None = None

    def login(self, http: requests.Session) -> Salesforce:
        """Log in through simple-salesforce and return the client (raises its exceptions)."""
        if self.auth_method == "password":
            return Salesforce(
                username=self.username,
                password=self.password,
                security_token=self.security_token or "",
                domain=_domain_prefix(self.login_host),
                session=http,
                version=API_VERSION,
            )
        if self.auth_method == "jwt":
            return Salesforce(
                username=self.username,
                consumer_key=self.consumer_key,
                privatekey=self.private_key,
                domain=_domain_prefix(self.login_host),
                session=http,
                version=API_VERSION,
            )
        return Salesforce(
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            domain=_domain_prefix(self.my_domain or ""),
            session=http,
            version=API_VERSION,
        )


def _domain_prefix(host: str) -> str:
    """Turn ``acme.my.salesforce.com`` into the ``domain`` prefix simple-salesforce expects (``acme.my``)."""
    return host.removesuffix(".salesforce.com")


def normalise_host(value: Any, field: str) -> str:
    """Return a bare lower-case ``*.salesforce.com`` host; raise ValidationError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.for_field(field, "is required, e.g. login.salesforce.com")
    host = value.strip().lower().removeprefix("https://").rstrip("/")
    if not _HOST.fullmatch(host):
        raise ValidationError.for_field(
            field,
            f"{value!r} is not a Salesforce host; use login.salesforce.com, test.salesforce.com "
            "or your My Domain host such as acme.my.salesforce.com",
        )
    return host


def parse_credential(data: Any) -> SalesforceCredential:
    """Validate a credential's JSON form; raise ValidationError listing each missing or bad field."""
    if not isinstance(data, dict):
        raise ValidationError.for_field("auth_method", "the credential must be a JSON object")
    method = data.get("auth_method")
    if method not in AUTH_METHODS:
        raise ValidationError.for_field("auth_method", f"must be one of {', '.join(AUTH_METHODS)}")
    required = {
        "password": ("username", "password"),
        "jwt": ("username", "consumer_key", "private_key"),
        "client_credentials": ("consumer_key", "consumer_secret", "my_domain"),
    }[method]
    errors = [
        (name, f"is required for auth_method {method}")
        for name in required
        if not isinstance(data.get(name), str) or not data[name]
    ]
    if errors:
        raise ValidationError(errors=errors)

    values: dict[str, Any] = {
        key: data.get(key)
        for key in (
            "username",
            "password",
            "security_token",
            "consumer_key",
            "consumer_secret",
            "private_key",
        )
    }
    if method in ("password", "jwt"):
        values["login_host"] = normalise_host(
            data.get("login_host") or "login.salesforce.com", "login_host"
        )
    else:
        domain = normalise_host(data.get("my_domain"), "my_domain")
        if domain in ("login.salesforce.com", "test.salesforce.com"):
            raise ValidationError.for_field(
                "my_domain",
                "client credentials need your My Domain host (acme.my.salesforce.com), not login/test",
            )
        values["my_domain"] = domain
    if method == "jwt" and "PRIVATE KEY" not in (values["private_key"] or ""):
        raise ValidationError.for_field("private_key", "must be an RSA private key in PEM form")
    return SalesforceCredential(auth_method=method, **values)


def load_credential(
    secrets: SecretBox, account_id: str, stored: str | None
) -> SalesforceCredential:
    """Decrypt and parse an account's stored credential; raise CredentialMissing when unusable."""
    if not stored:
        raise CredentialMissing("No Salesforce credential is set for this account")
    try:
        data = secrets.decrypt_json(stored, credential_purpose(account_id))
        return parse_credential(data)
    except ValidationError as exc:
        raise CredentialMissing(
            f"The stored Salesforce credential is invalid: {exc.message}"
        ) from exc
    except Exception as exc:
        raise CredentialMissing(
            "The stored Salesforce credential cannot be decrypted with this secret key"
        ) from exc
