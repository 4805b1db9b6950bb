"""The Salesforce destination's SQL: confirmed sequences, stored files, API usage."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from docrelay.storage.db import Database
from docrelay.storage.models import Document, SalesforceFile, SalesforceUsage, Template
from docrelay.storage.types import new_id

documents = cast(Table, Document.__table__)
files = cast(Table, SalesforceFile.__table__)
usage = cast(Table, SalesforceUsage.__table__)


def write_facts(database: Database, document_id: str, template_id: str) -> tuple[int, str]:
    """Return the document's confirmed Salesforce sequence and its template's name."""
    with database.session() as session:
        confirmed = session.scalar(
            select(documents.c.salesforce_confirmed_sequence).where(documents.c.id == document_id)
        )
        name = session.scalar(select(Template.name).where(Template.id == template_id))
    return int(confirmed or 0), name or ""


def write_facts_many(
    database: Database, pairs: list[tuple[str, str]]
) -> dict[str, tuple[int, str]]:
    """Return each document's confirmed Salesforce sequence and template name, by document id."""
    document_ids = {document_id for document_id, _ in pairs}
    with database.session() as session:
        rows = session.execute(
            select(documents.c.id, documents.c.salesforce_confirmed_sequence, Template.name)
            .join(Template, Template.id == documents.c.template_id)
            .where(documents.c.id.in_(document_ids))
        ).all()
    return {row.id: (int(row.salesforce_confirmed_sequence or 0), row.name or "") for row in rows}


def confirm_sequences(
    database: Database, confirmed: list[tuple[str, int]], now: dt.datetime
) -> None:
    """Raise the confirmed Salesforce sequence of several documents in one transaction."""
    if not confirmed:
        return
    with database.transaction() as session:
        for document_id, sequence in confirmed:
            session.execute(
                update(documents)
                .where(
                    documents.c.id == document_id,
                    documents.c.salesforce_confirmed_sequence < sequence,
                )
                .values(salesforce_confirmed_sequence=sequence)
            )


def confirm_sequence(database: Database, document_id: str, sequence: int, now: dt.datetime) -> None:
    """Raise the document's confirmed Salesforce sequence to ``sequence``; never lower it."""
    with database.transaction() as session:
        session.execute(
            update(documents)
            .where(
                documents.c.id == document_id, documents.c.salesforce_confirmed_sequence < sequence
            )
            .values(salesforce_confirmed_sequence=sequence)
        )


def stored_file(database: Database, document_id: str, location: str, sha256: str) -> str | None:
    """Return the Salesforce id of this file if it was already stored at ``location``."""
    with database.session() as session:
        return session.scalar(
            select(files.c.salesforce_id).where(
                files.c.document_id == document_id,
                files.c.location == location,
                files.c.sha256 == sha256,
            )
        )


def record_file(
    database: Database,
    account_id: str,
    document_id: str,
    location: str,
    sha256: str,
    salesforce_id: str,
    now: dt.datetime,
) -> None:
    """Remember a stored file; a concurrent duplicate row is ignored."""
    try:
        with database.transaction() as session:
            session.execute(
                insert(files).values(
                    id=new_id(),
                    account_id=account_id,
                    document_id=document_id,
                    location=location,
                    sha256=sha256,
                    salesforce_id=salesforce_id,
                    created_at=now,
                )
            )
    except IntegrityError:
        pass


def record_usage(
    database: Database, org_key: str, account_id: str, used: int, allocation: int, now: dt.datetime
) -> None:
    """Store the last ``Sforce-Limit-Info`` values seen for an org (insert or update)."""
    values = {
        "org_key": org_key,
        "account_id": account_id,
        "used": used,
        "allocation": allocation,
        "updated_at": now,
    }
    dialect = postgresql if database.dialect == "postgresql" else sqlite
    statement = dialect.insert(usage).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[usage.c.org_key],
        set_={"used": used, "allocation": allocation, "updated_at": now, "account_id": account_id},
    )
    with database.transaction() as session:
        session.execute(statement)


def read_usage(database: Database, org_key: str) -> tuple[int, int] | None:
    with database.session() as session:
        row = session.execute(
            select(usage.c.used, usage.c.allocation).where(usage.c.org_key == org_key)
        ).first()
    return None if row is None else (int(row.used), int(row.allocation))
