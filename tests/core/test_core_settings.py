"""Settings: updates, write-only secrets, credential versions and the sealing certificate."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from docrelay.accounts.service import DEFAULT_SALESFORCE_MAPPING

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
EC_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)

CREDENTIALS = {
    "password": {
        "auth_method": "password",
        "username": "integration@acme.example",
        "password": "S3cret-Password!",
        "security_token": "TOKEN-abcdef123456",
        "login_host": "test.salesforce.com",
    },
    "jwt": {
        "auth_method": "jwt",
        "username": "integration@acme.example",
        "consumer_key": "3MVG9-consumer-key-value",
        "private_key": RSA_PEM,
        "login_host": "login.salesforce.com",
    },
    "client_credentials": {
        "auth_method": "client_credentials",
        "consumer_key": "3MVG9-consumer-key-value",
        "consumer_secret": "CONSUMER-SECRET-987",
        "my_domain": "acme.my.salesforce.com",
    },
}
SECRET_KEYS = ("password", "security_token", "private_key", "consumer_secret", "consumer_key")


def test_defaults(user) -> None:
    body = user.client.get("/api/v1/settings").json()
    assert body["tracking_enabled"] is False
    assert body["storage_location"] == {"location": "file", "folder_id": None}
    assert body["salesforce_mapping"] == DEFAULT_SALESFORCE_MAPPING
    assert body["salesforce_credential"]["set"] is False
    assert body["sealing_certificate"]["configured"] is False


def test_patch_settings(user) -> None:
    response = user.client.patch(
        "/api/v1/settings",
        json={
            "time_zone": "America/Chicago",
            "technical_contacts": ["it@acme.example"],
            "tracking_enabled": True,
            "storage_location": {"location": "document", "folder_id": "00l000000000001"},
            "salesforce_mapping": {
                "fields": {"status": "Doc_Status__c"},
                "key_prefixes": {"Invoice__c": "a07"},
            },
            "salesforce_budget_pause_percent": 80,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tracking_enabled"] is True
    assert body["storage_location"]["folder_id"] == "00l000000000001AAA"
    assert body["salesforce_mapping"]["fields"]["status"] == "Doc_Status__c"
    assert body["salesforce_mapping"]["fields"]["sequence"] == "Sequence__c"
    assert body["salesforce_budget_pause_percent"] == 80
    assert user.client.get("/api/v1/settings").json()["time_zone"] == "America/Chicago"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"technical_contacts": ["nobody"]}, "technical_contacts"),
        ({"storage_location": {"location": "document"}}, "storage_location.folder_id"),
        ({"storage_location": {"location": "dropbox"}}, "storage_location.location"),
        ({"salesforce_mapping": {"object": "bad name!"}}, "salesforce_mapping.object"),
        ({"salesforce_mapping": {"colour": "red"}}, "salesforce_mapping.colour"),
        ({"salesforce_budget_pause_percent": 150}, "salesforce_budget_pause_percent"),
        ({"favourite": 1}, "favourite"),
    ],
)
def test_patch_rejects_bad_values(user, patch, field) -> None:
    before = user.client.get("/api/v1/settings").json()
    response = user.client.patch("/api/v1/settings", json=patch)
    assert response.status_code == 422, response.text
    assert any(item["field"].startswith(field) for item in response.json()["errors"]), (
        response.json()
    )
    assert user.client.get("/api/v1/settings").json() == before


@pytest.mark.parametrize("method", list(CREDENTIALS))
def test_credential_secrets_never_returned(user, method) -> None:
    credential = CREDENTIALS[method]
    stored = user.client.put("/api/v1/settings/salesforce-credential", json=credential)
    assert stored.status_code == 200, stored.text
    body = user.client.get("/api/v1/settings")
    text = body.text
    for key in SECRET_KEYS:
        value = credential.get(key)
        if value:
            assert value not in text, f"{key} leaked"
            assert value not in stored.text, f"{key} leaked by PUT"
    assert "PRIVATE KEY" not in text
    view = body.json()["salesforce_credential"]
    assert view["set"] is True
    assert view["auth_method"] == method
    assert view["version"] == 1
    assert view["changed_at"] is not None
    if method != "client_credentials":
        assert view["username"] == "integration@acme.example"
        assert view["login_host"] == credential["login_host"]
    else:
        assert view["my_domain"] == "acme.my.salesforce.com"


def test_credential_version_bumps(user) -> None:
    user.client.put("/api/v1/settings/salesforce-credential", json=CREDENTIALS["password"])
    user.client.put(
        "/api/v1/settings/salesforce-credential", json=CREDENTIALS["client_credentials"]
    )
    assert user.client.get("/api/v1/settings").json()["salesforce_credential"]["version"] == 2
    assert user.client.delete("/api/v1/settings/salesforce-credential").status_code == 204
    view = user.client.get("/api/v1/settings").json()["salesforce_credential"]
    assert view == {**view, "set": False, "auth_method": None, "version": 3}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"auth_method": "kerberos"}, "auth_method"),
        ({"login_host": "evil.example.com"}, "login_host"),
        ({"username": "not an email"}, "username"),
        ({"password": None}, "password"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_password_credential_validated(user, change, field) -> None:
    body = {**CREDENTIALS["password"], **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = user.client.put("/api/v1/settings/salesforce-credential", json=body)
    assert response.status_code == 422, response.text
    assert field in [item["field"] for item in response.json()["errors"]]
    assert user.client.get("/api/v1/settings").json()["salesforce_credential"]["set"] is False


def test_jwt_needs_rsa_key(user) -> None:
    for key in (EC_PEM, "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n"):
        response = user.client.put(
            "/api/v1/settings/salesforce-credential",
            json={**CREDENTIALS["jwt"], "private_key": key},
        )
        assert response.status_code == 422
        assert [item["field"] for item in response.json()["errors"]] == ["private_key"]


def test_client_credentials_need_my_domain(user) -> None:
    body = {**CREDENTIALS["client_credentials"], "my_domain": "login.salesforce.com"}
    response = user.client.put("/api/v1/settings/salesforce-credential", json=body)
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["errors"]] == ["my_domain"]


def _pkcs12(password: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Acme Seal")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"acme", key, certificate, None, serialization.BestAvailableEncryption(password)
    )


def test_sealing_certificate_upload(user) -> None:
    data = _pkcs12(b"p12-pass")
    wrong = user.client.put(
        "/api/v1/settings/sealing-certificate",
        files={"file": ("seal.p12", data)},
        data={"password": "nope"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "file"

    response = user.client.put(
        "/api/v1/settings/sealing-certificate",
        files={"file": ("seal.p12", data)},
        data={"password": "p12-pass"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "CN=Acme Seal"
    settings = user.client.get("/api/v1/settings")
    assert settings.json()["sealing_certificate"]["configured"] is True
    assert "PRIVATE" not in settings.text
    assert "p12-pass" not in settings.text


def test_secrets_encrypted_at_rest(runtime, user) -> None:
    user.client.put("/api/v1/settings/salesforce-credential", json=CREDENTIALS["password"])
    database_file = runtime.settings.data_dir / "docrelay.db"
    if database_file.exists():
        runtime.database.dispose()
        raw = database_file.read_bytes() + (
            database_file.with_name("docrelay.db-wal").read_bytes()
            if database_file.with_name("docrelay.db-wal").exists()
            else b""
        )
        assert b"S3cret-Password!" not in raw
        assert b"TOKEN-abcdef123456" not in raw
    assert json.dumps(user.client.get("/api/v1/settings").json()).count("S3cret") == 0
