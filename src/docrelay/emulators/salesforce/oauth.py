"""OAuth 2.0 token endpoint ``/services/oauth2/token``: password, JWT bearer, client credentials.

Success is 200 JSON with ``access_token`` and ``instance_url``; failures are
400 JSON ``{"error", "error_description"}`` with Salesforce's wording. No flow
issues a refresh token, as with Salesforce for these three grant types.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509

from docrelay import clock
from docrelay.emulators.salesforce.org import LoginFailure

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org, User

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    """A token request failed; becomes HTTP 400 ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def handle_token(
    org: Org,
    form: Mapping[str, str],
    authorization: str | None,
    requested_host: str,
    base_url: str,
) -> tuple[int, dict[str, Any]]:
    """Process a token request; ``requested_host`` is the host the client aimed at."""
    grant_type = form.get("grant_type")
    try:
        if not grant_type:
            raise OAuthError("invalid_request", "grant type is missing")
        if grant_type == "password":
            user = _password_grant(org, form)
        elif grant_type == JWT_GRANT:
            user = _jwt_grant(org, form.get("assertion", ""))
            _count_login(org, user)
        elif grant_type == "client_credentials":
            user = _client_credentials_grant(org, form, authorization, requested_host)
            _count_login(org, user)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
    except OAuthError as error:
        return error.status, error.body()
    return 200, _token_response(org, user, org.open_session(user), base_url, grant_type)


def _password_grant(org: Org, form: Mapping[str, str]) -> User:
    _check_client(org, form.get("client_id"), form.get("client_secret"))
    if not org.settings.username_password_flow_enabled:
        raise OAuthError("invalid_grant", "authentication failure")
    try:
        return org.check_password(form.get("username", ""), form.get("password", ""))
    except LoginFailure as failure:
        if failure.code == "PASSWORD_LOCKOUT":
            raise OAuthError("invalid_grant", "user locked out") from None
        if failure.code == "REQUEST_LIMIT_EXCEEDED":
            raise OAuthError("invalid_grant", "login rate exceeded") from None
        raise OAuthError(
            "invalid_grant", "invalid username, password, security token; or user locked out."
        ) from None


def _jwt_grant(org: Org, assertion: str) -> User:
    certificate = x509.load_pem_x509_certificate(org.app.certificate_pem.encode())
    try:
        claims = jwt.decode(
            assertion,
            key=certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None

    if claims.get("iss") != org.app.consumer_key:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    allowed = {a.rstrip("/") for a in org.settings.jwt_audiences}
    if not any(isinstance(a, str) and a.rstrip("/") in allowed for a in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    _check_expiry(org, claims.get("exp"))

    user = org.find_user(str(claims.get("sub", "")))
    if user is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    approved = org.app.preapproved_usernames
    if approved and user.username.lower() not in {u.lower() for u in approved}:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return user


def _count_login(org: Org, user: User) -> None:
    try:
        org.count_login(user)
    except LoginFailure:
        raise OAuthError("invalid_grant", "login rate exceeded") from None


def _check_expiry(org: Org, exp: Any) -> None:
    # simple-salesforce 1.12.10 sends exp as a string of epoch seconds.
    try:
        expires = float(exp)
    except (TypeError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    now = clock.now().timestamp()
    if expires <= now:
        raise OAuthError("invalid_grant", "expired authorization code")
    if expires > now + org.settings.jwt_max_lifetime_seconds:
        raise OAuthError("invalid_grant", "invalid assertion")


def _client_credentials_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, requested_host: str
) -> User:
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        client_id, client_secret = _basic_credentials(authorization)
    host = requested_host.split(":")[0].lower()
    if host in ("login.salesforce.com", "test.salesforce.com"):
        raise OAuthError("invalid_grant", "request not supported on this domain")
    _check_client(org, client_id, client_secret)
    username = org.app.run_as_username
    user = org.find_user(username) if username else None
    if user is None:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    return user


def _basic_credentials(authorization: str) -> tuple[str | None, str | None]:
    try:
        decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, IndexError):
        raise OAuthError("invalid_client", "invalid client credentials") from None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _check_client(org: Org, client_id: str | None, client_secret: str | None) -> None:
    if not client_id or not hmac.compare_digest(client_id, org.app.consumer_key):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not client_secret or not hmac.compare_digest(client_secret, org.app.consumer_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _token_response(
    org: Org, user: User, token: str, base_url: str, grant_type: str
) -> dict[str, Any]:
    identity = f"{base_url}/id/{org.org_id}/{user.id}"
    issued_at = str(int(clock.now().timestamp() * 1000))
    # Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
    digest = hmac.new(
        org.app.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    body: dict[str, Any] = {
        "access_token": token,
        "instance_url": base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(digest).decode(),
    }
    if grant_type != "password":
        body["scope"] = "api"
    return body
