"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
a runtime, an account with an API key, and an HTTP client for the API."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from simple_salesforce import Salesforce
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from docrelay import clock
from docrelay.accounts.service import create_account, create_api_key
from docrelay.config import Settings, load_settings
from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import connect as connect_salesforce
from docrelay.runtime import Runtime
from docrelay.storage import migrate
from docrelay.storage.db import Database
from docrelay.web.app import create_app

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = REPO_ROOT.parent / "shared" / "samples" / "pdf"
POSTGRES_URL = os.environ.get("DOCRELAY_TEST_POSTGRES_URL")
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's DOCRELAY_* variables and .env out of the tests, and reset the clock."""
    for name in list(os.environ):
        if (
            name.startswith("DOCRELAY_")
            and name != "DOCRELAY_TEST_POSTGRES_URL"
            and not name.startswith("DOCRELAY_SALESFORCE_TEST")
        ):
            monkeypatch.delenv(name)
    yield
    clock.set_clock(None)


def _database_params() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template-db") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> str:
    assert POSTGRES_URL is not None
    name = f"docrelay_template_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield name  # type: ignore[misc]
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "docrelay.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("_postgres_template")
    assert POSTGRES_URL is not None
    name = f"docrelay_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        base_url="http://testserver",
        allowed_destination_networks="127.0.0.0/8,::1/128",
        poll_interval=0.2,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


@dataclass
class ApiUser:
    """An account and an API client authenticated as it."""

    account_id: str
    context_id: str
    api_key: str
    client: TestClient


def _make_user(runtime: Runtime, app_client: TestClient, name: str) -> ApiUser:
    with runtime.database.transaction() as session:
        account = create_account(session, name, technical_contacts=["ops@example.com"])
        key = create_api_key(session, account)
        account_id, context_id = account.id, account.context_id
    client = TestClient(app_client.app, raise_server_exceptions=True)
    client.headers["Authorization"] = f"Bearer {key.secret}"
    return ApiUser(account_id=account_id, context_id=context_id, api_key=key.secret, client=client)


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[TestClient]:
    """A client for an app without the background worker (tests drive the worker themselves)."""
    app = create_app(runtime, run_background=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def user(runtime: Runtime, app_client: TestClient) -> ApiUser:
    return _make_user(runtime, app_client, "Acme Corp")


@pytest.fixture
def other_user(runtime: Runtime, app_client: TestClient) -> ApiUser:
    return _make_user(runtime, app_client, "Globex Inc")


@pytest.fixture
def sample_pdf_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        pytest.fail(
            f"sample PDFs not found at {SAMPLES_DIR}: the shared folder must sit beside the repository"
        )
    return SAMPLES_DIR


@pytest.fixture
def salesforce_emulator() -> Iterator[SalesforceEmulator]:
    """A Salesforce emulator on a free loopback port, stopped after the test."""
    with SalesforceEmulator() as emulator:
        yield emulator


@pytest.fixture
def salesforce_client(salesforce_emulator: SalesforceEmulator) -> Salesforce:
    """A simple-salesforce client logged in to ``salesforce_emulator`` (SOAP login with token)."""
    return connect_salesforce(salesforce_emulator)
