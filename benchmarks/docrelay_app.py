"""DocRelay as the system under test: databases, seed rows and status changes.

Setup writes rows directly through the models (an account with tracking on, one
template version, one design, documents whose workflow sends every status change
with that design). The measured path goes only through DocRelay's public entry
points: ``record_event`` inside ``Database.transaction()`` for status changes, and
``docrelay.delivery.worker.Worker`` for delivery.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.runner import NotAvailable

STATUS_EVENT = "step.completed"
"""The event every benchmark status change records.

Web notifications of ``step.completed`` are never superseded (the payload carries the step),
so every queued change is sent, the same work the bare loop does. Status-only events such
as ``document.started`` may be superseded while they wait, which would drain a backlog
with fewer requests than the bare loop sends.
"""
STATUS_EVENT_DATA = {"step": 1}
WEBHOOK_BODY = (
    '{"document_id": "[Document ID]", "sequence": "[Document Sequence]", "event": "[Event]"}'
)
BENCH_SECRET_KEY = "benchmark-secret-key-0123456789abcdef"


def require(*modules: str) -> None:
    """Raise NotAvailable naming the first DocRelay module that does not exist."""
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise NotAvailable(name)


def make_runtime(data_dir: Path, database_url: str | None = None, **overrides: Any) -> Any:
    """Build a Runtime for ``data_dir`` (SQLite there unless ``database_url`` is given)."""
    from docrelay.config import load_settings
    from docrelay.runtime import Runtime

    settings = load_settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=BENCH_SECRET_KEY,
        allowed_destination_networks="127.0.0.0/8",
        **overrides,
    )
    return Runtime.from_settings(settings)


def migrate(runtime: Any) -> None:
    from docrelay.storage import migrate as migrations

    migrations.upgrade(runtime.database)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create a scratch PostgreSQL database, yield its URL, drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"docrelay_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def seed_documents(
    runtime: Any,
    count: int,
    *,
    design_kind: str = "webhook",
    design_config: dict[str, Any] | None = None,
    tracking: bool = True,
    crm_record_id: str | None = None,
) -> tuple[str, list[str]]:
    """Create an account, a design and ``count`` documents sending STATUS_EVENT with it.

    Returns the account id and the document ids.
    """
    from docrelay import clock
    from docrelay.accounts.service import create_account
    from docrelay.storage.models import Document, Template, TemplateVersion
    from docrelay.storage.types import new_id

    now = clock.now()
    with runtime.database.transaction() as session:
        account = create_account(session, f"Bench {uuid.uuid4().hex[:6]}")
        account.tracking_enabled = tracking
        template = Template(
            id=new_id(),
            account_id=account.id,
            name="Bench template",
            created_at=now,
            updated_at=now,
        )
        version = TemplateVersion(
            id=new_id(),
            template_id=template.id,
            account_id=account.id,
            version=1,
            definition={},
            source_blob="bench/none.pdf",
            source_sha256=hashlib.sha256(b"").hexdigest(),
            source_filename="bench.pdf",
            page_count=1,
            pages=[],
            created_at=now,
        )
        design = _design(session, runtime, account.id, design_kind, design_config)
        session.add_all([template, version])
        session.flush()
        workflow = [{"event": STATUS_EVENT, "design_id": design.id}]
        document_ids = []
        for index in range(count):
            document = Document(
                id=new_id(),
                account_id=account.id,
                template_id=template.id,
                template_version_id=version.id,
                name=f"Bench document {index}",
                status="DSS",
                status_changed_at=now,
                sequence=0,
                workflow=workflow,
                crm_object_type="Opportunity" if crm_record_id else None,
                crm_system="salesforce" if crm_record_id else None,
                crm_record_id=crm_record_id,
                created_at=now,
                updated_at=now,
            )
            session.add(document)
            document_ids.append(document.id)
        return account.id, document_ids


def _design(
    session: Any, runtime: Any, account_id: str, kind: str, config: dict[str, Any] | None
) -> Any:
    """Return the design to send with: a new web notification, or the built-in Salesforce one."""
    from sqlalchemy import select

    from docrelay.storage.models import Design

    if kind != "webhook":
        design = session.scalars(
            select(Design).where(Design.account_id == account_id, Design.kind == kind)
        ).first()
        if design is None:
            raise ValueError(f"account {account_id} has no built-in {kind} design")
        return design
    from docrelay.delivery.designs import DesignInput, create_design

    data = DesignInput(name="Bench webhook", kind="webhook", config=dict(config or {}))
    design, _secret = create_design(session, runtime.secrets, account_id, data)
    return design


def record_status_change(runtime: Any, document_id: str) -> int:
    """Record one status change through the public service call; return the new sequence."""
    from docrelay.documents.events import record_event
    from docrelay.storage.models import Document

    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        assert document is not None, f"document {document_id} not found"
        event = record_event(session, document, STATUS_EVENT, STATUS_EVENT_DATA)
        return int(event.sequence)


def record_many(runtime: Any, changes: list[str], per_transaction: int = 200) -> None:
    """Record status changes in batches (setup only: the batch size is not what is measured)."""
    from docrelay.documents.events import record_event
    from docrelay.storage.models import Document

    for start in range(0, len(changes), per_transaction):
        with runtime.database.transaction() as session:
            for document_id in changes[start : start + per_transaction]:
                document = session.get(Document, document_id)
                assert document is not None
                record_event(session, document, STATUS_EVENT, STATUS_EVENT_DATA)


def count_by_state(runtime: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from docrelay.storage.models import Delivery

    with runtime.database.session() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
    return {str(state): int(count) for state, count in rows}


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database file after folding its WAL into it."""
    with contextlib.closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def webhook_config(url: str) -> dict[str, Any]:
    """Return a web notification design config that POSTs the document id and sequence as JSON."""
    return {
        "url": url,
        "method": "POST",
        "content_type": "application/json",
        "headers": {},
        "body_template": WEBHOOK_BODY,
        "timeout_seconds": 15,
        "auth": {"type": "none"},
    }


def add_linked_documents(runtime: Any, account_id: str | None, record_id: str, count: int) -> str:
    """Add ``count`` started documents linked to a Salesforce Opportunity; return the account id.

    With ``account_id`` None a new account (tracking on) is created first. The documents
    get no events: a pull refresh pushes their current status, not their history.
    """
    from docrelay import clock
    from docrelay.accounts.service import create_account
    from docrelay.storage.models import Document, Template, TemplateVersion
    from docrelay.storage.types import new_id

    now = clock.now()
    with runtime.database.transaction() as session:
        if account_id is None:
            account = create_account(session, f"Bench {uuid.uuid4().hex[:6]}")
            account.tracking_enabled = True
            account_id = account.id
        template = Template(
            id=new_id(),
            account_id=account_id,
            name="Bench template",
            created_at=now,
            updated_at=now,
        )
        version = TemplateVersion(
            id=new_id(),
            template_id=template.id,
            account_id=account_id,
            version=1,
            definition={},
            source_blob="bench/none.pdf",
            source_sha256=hashlib.sha256(b"").hexdigest(),
            source_filename="bench.pdf",
            page_count=1,
            pages=[],
            created_at=now,
        )
        session.add_all([template, version])
        session.flush()
        for index in range(count):
            session.add(
                Document(
                    id=new_id(),
                    account_id=account_id,
                    template_id=template.id,
                    template_version_id=version.id,
                    name=f"Bench document {index}",
                    status="DSS",
                    status_changed_at=now,
                    sequence=1,
                    workflow=[],
                    crm_system="salesforce",
                    crm_object_type="Opportunity",
                    crm_record_id=record_id,
                    created_at=now,
                    updated_at=now,
                )
            )
    return account_id
