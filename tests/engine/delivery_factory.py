"""Rows the delivery tests need: templates, documents driven through statuses, workflows.

Documents are created as rows and their events recorded with ``record_event``
in a transaction, the way the document service does, so these tests do not
depend on the document API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.delivery import control
from docrelay.documents.events import record_event
from docrelay.runtime import Runtime
from docrelay.storage.models import (
    Account,
    Delivery,
    DeliveryAttempt,
    Design,
    Document,
    Template,
    TemplateVersion,
)
from docrelay.storage.types import new_id

STATUS_EVENTS = {
    "DSS": "document.started",
    "DCO": "document.completed",
    "DCA": "document.cancelled",
}


def set_tracking(runtime: Runtime, account_id: str, enabled: bool) -> None:
    with runtime.database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.tracking_enabled = enabled
        control.tracking_switched(session, account, enabled)


def design_id(runtime: Runtime, account_id: str, kind: str) -> str:
    with runtime.database.session() as session:
        found = session.scalar(
            select(Design.id).where(Design.account_id == account_id, Design.kind == kind)
        )
    assert found is not None, f"no {kind} design"
    return found


def add_design(
    runtime: Runtime,
    account_id: str,
    kind: str,
    name: str,
    retry_policy: dict[str, Any] | None = None,
) -> str:
    now = clock.now()
    with runtime.database.transaction() as session:
        design = Design(
            id=new_id(),
            account_id=account_id,
            name=name,
            kind=kind,
            enabled=True,
            config={},
            failure_contacts=[],
            notify_on="final",
            retry_policy=retry_policy,
            created_at=now,
            updated_at=now,
        )
        session.add(design)
    return design.id


def make_template(session: Session, account_id: str, name: str = "Mutual NDA") -> Template:
    now = clock.now()
    template = Template(
        id=new_id(),
        account_id=account_id,
        name=name,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    session.add(
        TemplateVersion(
            id=new_id(),
            template_id=template.id,
            account_id=account_id,
            version=1,
            definition={},
            source_blob="none",
            source_sha256="0" * 64,
            source_filename="nda.pdf",
            page_count=1,
            pages=[],
            created_at=now,
        )
    )
    session.flush()
    return template


def create_document(
    runtime: Runtime,
    account_id: str,
    workflow: list[dict[str, Any]],
    *,
    name: str = "NDA for Jane Doe",
    crm: tuple[str, str] | None = None,
    template_name: str = "Mutual NDA",
) -> str:
    """Create a document in DCR with ``workflow`` as its snapshot and record document.created."""
    now = clock.now()
    with runtime.database.transaction() as session:
        template = make_template(session, account_id, template_name)
        version_id = session.scalar(
            select(TemplateVersion.id).where(TemplateVersion.template_id == template.id)
        )
        document = Document(
            id=new_id(),
            account_id=account_id,
            template_id=template.id,
            template_version_id=version_id,
            name=name,
            parameters={},
            crm_system="salesforce" if crm else None,
            crm_object_type=crm[0] if crm else None,
            crm_record_id=crm[1] if crm else None,
            status="DCR",
            status_changed_at=now,
            sequence=0,
            current_step=0,
            workflow=[
                {"id": new_id(), "step": None, "pre_expiration_days": None, **item}
                for item in workflow
            ],
            warnings_sent=[],
            created_at=now,
            updated_at=now,
        )
        session.add(document)
        session.flush()
        record_event(session, document, "document.created")
        return document.id


def move(
    runtime: Runtime, document_id: str, status: str, *, completed_blob: str | None = None
) -> None:
    """Change the document's status and record the matching event."""
    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.status = status
        document.status_changed_at = clock.now()
        if completed_blob is not None:
            document.completed_blob = completed_blob
        record_event(session, document, STATUS_EVENTS[status])


def record(
    runtime: Runtime, document_id: str, event_type: str, data: dict[str, Any] | None = None
) -> None:
    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        assert document is not None
        record_event(session, document, event_type, data)


def deliveries_of(runtime: Runtime, document_id: str) -> list[Delivery]:
    with runtime.database.session() as session:
        return list(
            session.scalars(
                select(Delivery)
                .where(Delivery.document_id == document_id)
                .order_by(Delivery.sequence)
            )
        )


def all_deliveries(runtime: Runtime) -> list[Delivery]:
    with runtime.database.session() as session:
        return list(
            session.scalars(select(Delivery).order_by(Delivery.created_at, Delivery.sequence))
        )


def attempts_of(runtime: Runtime, delivery_id: str) -> list[DeliveryAttempt]:
    with runtime.database.session() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(DeliveryAttempt.id)
            )
        )
