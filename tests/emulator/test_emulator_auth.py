"""Authentication against the Salesforce emulator: SOAP login, OAuth flows, sessions."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest
import requests
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed

from docrelay import clock
from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import connect
from docrelay.salesforce.routing import make_session

SOAP_BODY = """<?xml version="1.0" encoding="utf-8" ?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:p="urn:partner.soap.sforce.com">
  <soapenv:Body><p:login><p:username>{username}</p:username>
  <p:password>{password}</p:password></p:login></soapenv:Body></soapenv:Envelope>"""


def _token(emulator: SalesforceEmulator, **form: str) -> requests.Response:
    return requests.post(f"{emulator.base_url}/services/oauth2/token", data=form, timeout=10)


def _assertion(emulator: SalesforceEmulator, **claims: object) -> str:
    org = emulator.org
    payload: dict[str, object] = {
        "iss": org.consumer_key,
        "sub": org.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 120,
    }
    payload.update(claims)
    return jwt.encode(payload, org.private_key_pem, algorithm="RS256")


def test_soap_login_succeeds(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)

    assert sf.session_id.startswith(salesforce_emulator.org.org_id[:15] + "!")
    assert sf.sf_instance == f"127.0.0.1:{salesforce_emulator.port}"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_soap_login_response_shape(salesforce_emulator: SalesforceEmulator) -> None:
    org = salesforce_emulator.org
    response = requests.post(
        f"{salesforce_emulator.base_url}/services/Soap/u/59.0",
        data=SOAP_BODY.format(username=org.username, password=org.password + org.security_token),
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert "<sessionId>" in response.text
    expected_server = f"/services/Soap/u/59.0/{org.org_id[:15]}</serverUrl>"
    assert expected_server in response.text
    assert "<sessionSecondsValid>7200</sessionSecondsValid>" in response.text
    assert "<orgAttachmentFileSizeLimit>26214400</orgAttachmentFileSizeLimit>" in response.text


def test_soap_login_escaped_password(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.change_password("p&ss<word>")

    sf = connect(salesforce_emulator, password="p&ss<word>")

    assert sf.session_id


@pytest.mark.parametrize(
    ("password_suffix", "code"),
    [
        ("-wrong", "INVALID_LOGIN"),  # wrong password with the token
        (None, "LOGIN_MUST_USE_SECURITY_TOKEN"),  # right password, token left off
    ],
)
def test_soap_login_faults(
    salesforce_emulator: SalesforceEmulator, password_suffix: str | None, code: str
) -> None:
    org = salesforce_emulator.org
    token = "" if password_suffix is None else org.security_token
    password = org.password + (password_suffix or "")

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator, password=password, security_token=token)

    assert raised.value.code == code


def test_soap_fault_exact_shape(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.post(
        f"{salesforce_emulator.base_url}/services/Soap/u/59.0",
        data=SOAP_BODY.format(username="nobody@example.com", password="x"),
        headers={"Content-Type": "text/xml"},
        timeout=10,
    )

    assert response.status_code == 500
    assert 'xmlns:sf="urn:fault.partner.soap.sforce.com"' in response.text
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in response.text
    assert "<faultstring>INVALID_LOGIN: Invalid username, password" in response.text
    assert "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>" in response.text


def test_password_lockout_after_failures(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(lockout_attempts=3)
    for _ in range(3):
        with pytest.raises(SalesforceAuthenticationFailed):
            connect(salesforce_emulator, password="wrong")

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator)

    assert raised.value.code == "PASSWORD_LOCKOUT"
    salesforce_emulator.org.unlock()
    assert connect(salesforce_emulator).session_id


@pytest.mark.parametrize(
    ("version", "code"),
    [("30.0", "UNSUPPORTED_API_VERSION"), ("65.0", "UNSUPPORTED_API_VERSION")],
)
def test_soap_login_version_limits(
    salesforce_emulator: SalesforceEmulator, version: str, code: str
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator, version=version)

    assert raised.value.code == code


def test_soap_login_api_disabled(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(api_enabled=False)

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator)

    assert raised.value.code == "API_DISABLED_FOR_ORG"


def test_changed_password_breaks_and_fixes_login(salesforce_emulator: SalesforceEmulator) -> None:
    old = salesforce_emulator.org.password
    salesforce_emulator.change_password("Changed-1")

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator, password=old)
    assert raised.value.code == "INVALID_LOGIN"

    assert connect(salesforce_emulator, password="Changed-1").session_id


def test_password_change_through_admin_endpoint(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.post(
        f"{salesforce_emulator.base_url}/__emulator/password",
        json={"password": "Via-Admin-2"},
        timeout=10,
    )

    assert response.status_code == 204
    assert salesforce_emulator.org.password == "Via-Admin-2"


@pytest.mark.parametrize("auth", ["oauth_password", "jwt", "client_credentials"])
def test_oauth_flows_succeed(salesforce_emulator: SalesforceEmulator, auth: str) -> None:
    sf = connect(salesforce_emulator, auth=auth)

    assert sf.sf_instance == f"127.0.0.1:{salesforce_emulator.port}"
    created = sf.Lead.create({"LastName": "OAuth", "Company": auth})
    assert created["success"] is True


def test_oauth_token_response_shape(salesforce_emulator: SalesforceEmulator) -> None:
    org = salesforce_emulator.org
    response = _token(
        salesforce_emulator,
        grant_type="password",
        client_id=org.consumer_key,
        client_secret=org.consumer_secret,
        username=org.username,
        password=org.password + org.security_token,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == f"https://127.0.0.1:{salesforce_emulator.port}"
    assert body["id"].endswith(f"/id/{org.org_id}/{org.default_user.id}")
    assert {"access_token", "issued_at", "signature"} <= set(body)
    assert "refresh_token" not in body


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"client_id": "unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"password": "wrong"}, "invalid_grant", None),
        ({"grant_type": ""}, "invalid_request", "grant type is missing"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", None),
    ],
)
def test_oauth_password_errors(
    salesforce_emulator: SalesforceEmulator,
    changes: dict[str, str],
    error: str,
    description: str | None,
) -> None:
    org = salesforce_emulator.org
    form = {
        "grant_type": "password",
        "client_id": org.consumer_key,
        "client_secret": org.consumer_secret,
        "username": org.username,
        "password": org.password + org.security_token,
        **changes,
    }

    response = _token(salesforce_emulator, **form)

    assert response.status_code == 400
    assert response.json()["error"] == error
    if description is not None:
        assert response.json()["error_description"] == description


def test_oauth_password_flow_disabled(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(username_password_flow_enabled=False)

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator, auth="oauth_password")

    assert raised.value.code == "invalid_grant"
    assert raised.value.auth_message == "authentication failure"


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"exp": int(time.time()) - 10}, "invalid_grant", "expired authorization code"),
        ({"exp": int(time.time()) + 3600}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_claim_errors(
    salesforce_emulator: SalesforceEmulator,
    claims: dict[str, object],
    error: str,
    description: str,
) -> None:
    assertion = _assertion(salesforce_emulator, **claims)

    response = _token(
        salesforce_emulator,
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion=assertion,
    )

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_other_key(salesforce_emulator: SalesforceEmulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator, auth="jwt", privatekey=pem)

    assert raised.value.code == "invalid_grant"
    assert raised.value.auth_message == "invalid assertion"


def test_client_credentials_rejected_on_login_host(salesforce_emulator: SalesforceEmulator) -> None:
    org = salesforce_emulator.org
    session = make_session(salesforce_emulator.base_url)

    response = session.post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(org.consumer_key, org.consumer_secret),
    )

    assert response.status_code == 400
    assert response.json()["error_description"] == "request not supported on this domain"


def test_unknown_session_gets_401_array(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.get(
        f"{salesforce_emulator.base_url}/services/data/v59.0/limits",
        headers={"Authorization": "Bearer not-a-session"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_idle_session_expires_and_relogin_works(salesforce_emulator: SalesforceEmulator) -> None:
    frozen = clock.FrozenClock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
    clock.set_clock(frozen)
    sf = connect(salesforce_emulator)
    first_session = sf.session_id
    frozen.advance(seconds=7000)
    sf.query("SELECT Id FROM Lead")  # inside the idle window: refreshes the timer
    frozen.advance(seconds=7000)
    sf.query("SELECT Id FROM Lead")
    assert sf.session_id == first_session

    frozen.advance(seconds=7201)
    result = sf.query("SELECT Id FROM Lead")

    assert result["totalSize"] == 0
    assert sf.session_id != first_session
    counts = salesforce_emulator.calls()["counts"]
    assert counts["soap_login"] == 2


def test_session_timeout_is_configurable(salesforce_emulator: SalesforceEmulator) -> None:
    frozen = clock.FrozenClock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
    clock.set_clock(frozen)
    salesforce_emulator.update_settings(session_timeout_seconds=900)
    sf = connect(salesforce_emulator)
    frozen.advance(seconds=901)

    sf.Lead.create({"LastName": "After", "Company": "Expiry"})

    assert salesforce_emulator.calls()["counts"]["soap_login"] == 2


def test_direct_session_mode_raises_expired(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    direct = Salesforce(
        instance_url=f"https://{sf.sf_instance}",
        session_id=sf.session_id,
        session=make_session(salesforce_emulator.base_url),
    )
    salesforce_emulator.expire_sessions()

    from simple_salesforce import SalesforceExpiredSession

    with pytest.raises(SalesforceExpiredSession):
        direct.query("SELECT Id FROM Lead")


def test_login_rate_limit(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(login_rate_limit_per_hour=2)
    connect(salesforce_emulator)
    connect(salesforce_emulator, auth="jwt")

    with pytest.raises(SalesforceAuthenticationFailed) as soap:
        connect(salesforce_emulator)
    with pytest.raises(SalesforceAuthenticationFailed) as oauth:
        connect(salesforce_emulator, auth="client_credentials")

    assert soap.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert oauth.value.auth_message == "login rate exceeded"


def test_reused_session_for_repeated_logins(salesforce_emulator: SalesforceEmulator) -> None:
    first = connect(salesforce_emulator).session_id
    assert connect(salesforce_emulator).session_id != first

    salesforce_emulator.update_settings(reuse_sessions=True)

    assert connect(salesforce_emulator).session_id == connect(salesforce_emulator).session_id
