"""Templates: create, version, list, read and delete, scoped to one account.

The PDF is inspected and normalised before any transaction opens, because
SQLite holds its write lock for the whole transaction and the PDF work can
take a second on a large file.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.documents.files import discard_files, put_file
from docrelay.documents.pagination import decode_cursor, page
from docrelay.documents.statuses import FINAL_STATUSES
from docrelay.errors import ConflictError, NotFoundError, ValidationError
from docrelay.runtime import Runtime
from docrelay.storage.models import Document, Template, TemplateVersion
from docrelay.storage.types import new_id
from docrelay.templates.definition import TemplateDefinition, load_definition_json, parse_definition

logger = logging.getLogger(__name__)

MAX_FILENAME = 255


@dataclass(frozen=True)
class Upload:
    """A template PDF as the client sent it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class PreparedVersion:
    """A checked definition and normalised PDF, ready to be stored."""

    definition: TemplateDefinition
    raw_definition: dict[str, Any]
    pdf: bytes
    sha256: str
    filename: str
    pages: list[dict[str, Any]]


def _page_record(geometry: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(geometry) and not isinstance(geometry, type):
        return dataclasses.asdict(geometry)
    return {"number": geometry.number, "width": geometry.width, "height": geometry.height}


def page_geometries(version: TemplateVersion) -> list[Any]:
    """Rebuild the stored page geometries of a version for placement checks and stamping."""
    from docrelay.pdf.geometry import PageGeometry

    result = []
    for item in version.pages:
        crop = item.get("crop_box")
        result.append(
            PageGeometry(
                number=item["number"],
                width=item["width"],
                height=item["height"],
                rotation=item.get("rotation", 0),
                crop_box=tuple(crop) if crop else None,
            )
        )
    return result


def prepare_version(
    runtime: Runtime, upload: Upload, definition_text: str | bytes
) -> PreparedVersion:
    """Inspect the PDF and check the definition against its pages; no database access."""
    from docrelay.pdf.source import inspect_source

    raw = load_definition_json(definition_text)
    filename = _clean_filename(upload.filename)
    if not upload.data:
        raise ValidationError.for_field("file", "is empty; upload the template PDF")
    settings = runtime.settings
    info = inspect_source(
        upload.data, max_bytes=settings.max_template_bytes, max_pages=settings.max_template_pages
    )
    definition = parse_definition(raw, info.pages)
    return PreparedVersion(
        definition=definition,
        raw_definition=definition.model_dump(mode="json"),
        pdf=info.normalised,
        sha256=info.sha256,
        filename=filename,
        pages=[_page_record(geometry) for geometry in info.pages],
    )


def prepare_definition_only(
    version: TemplateVersion, definition_text: str | bytes
) -> PreparedVersion:
    """Check a new definition against the pages of an existing version's PDF."""
    raw = load_definition_json(definition_text)
    definition = parse_definition(raw, page_geometries(version))
    return PreparedVersion(
        definition=definition,
        raw_definition=definition.model_dump(mode="json"),
        pdf=b"",
        sha256=version.source_sha256,
        filename=version.source_filename,
        pages=list(version.pages),
    )


def _clean_filename(name: str | None) -> str:
    cleaned = "".join(char for char in (name or "") if char.isprintable() and char not in "/\\")
    return (cleaned.strip() or "template.pdf")[:MAX_FILENAME]


def _blob_key(account_id: str, template_id: str, version: int) -> str:
    return f"accounts/{account_id}/templates/{template_id}/v{version}.pdf"


def create_template(runtime: Runtime, account_id: str, prepared: PreparedVersion) -> str:
    """Store a new template with its first version; return its id."""
    template_id = new_id()
    key = _blob_key(account_id, template_id, 1)
    try:
        with runtime.database.transaction() as session:
            now = clock.now()
            template = Template(
                id=template_id,
                account_id=account_id,
                name=prepared.definition.name,
                current_version=1,
                created_at=now,
                updated_at=now,
            )
            _apply_storage(template, prepared.definition)
            session.add(template)
            session.flush()
            put_file(
                session,
                runtime.blobs,
                account_id=account_id,
                key=key,
                data=prepared.pdf,
                content_type="application/pdf",
            )
            session.add(_version_row(template, 1, key, prepared, now))
    except BaseException:
        discard_files(runtime.blobs, [key])
        raise
    logger.info(
        "Created template %s",
        template_id,
        extra={"action": "template_created", "account_id": account_id, "template_id": template_id},
    )
    return template_id


def add_version(
    runtime: Runtime,
    account_id: str,
    template_id: str,
    prepared: PreparedVersion,
    reuse_blob: str | None,
) -> int:
    """Store a new version of a template; documents already created keep theirs."""
    written: list[str] = []
    try:
        with runtime.database.transaction() as session:
            template = get_template(session, account_id, template_id)
            number = template.current_version + 1
            key = reuse_blob
            if key is None:
                key = _blob_key(account_id, template_id, number)
                written.append(key)
                put_file(
                    session,
                    runtime.blobs,
                    account_id=account_id,
                    key=key,
                    data=prepared.pdf,
                    content_type="application/pdf",
                )
            now = clock.now()
            template.name = prepared.definition.name
            template.current_version = number
            template.updated_at = now
            _apply_storage(template, prepared.definition)
            session.add(_version_row(template, number, key, prepared, now))
    except BaseException:
        discard_files(runtime.blobs, written)
        raise
    logger.info(
        "Stored version %d of template %s",
        number,
        template_id,
        extra={"action": "template_versioned", "template_id": template_id},
    )
    return number


def _apply_storage(template: Template, definition: TemplateDefinition) -> None:
    location = definition.storage_location
    template.storage_location = location.location if location else None
    template.storage_folder_id = location.folder_id if location else None


def _version_row(
    template: Template, number: int, key: str, prepared: PreparedVersion, now: Any
) -> TemplateVersion:
    return TemplateVersion(
        id=new_id(),
        template_id=template.id,
        account_id=template.account_id,
        version=number,
        definition=prepared.raw_definition,
        source_blob=key,
        source_sha256=prepared.sha256,
        source_filename=prepared.filename,
        page_count=len(prepared.pages),
        pages=prepared.pages,
        created_at=now,
    )


def get_template(session: Session, account_id: str, template_id: str) -> Template:
    template = session.get(Template, template_id)
    if template is None or template.account_id != account_id or template.deleted_at is not None:
        raise NotFoundError(f"Template {template_id} not found")
    return template


def current_version(session: Session, template: Template) -> TemplateVersion:
    version = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.current_version,
        )
    )
    if version is None:
        raise NotFoundError(f"Template {template.id} has no version {template.current_version}")
    return version


def list_templates(
    session: Session, account_id: str, cursor: str | None, limit: int
) -> tuple[list[Template], str | None]:
    position = decode_cursor(cursor)
    query = select(Template).where(Template.account_id == account_id, Template.deleted_at.is_(None))
    if position is not None:
        query = query.where(
            tuple_(Template.created_at, Template.id) > tuple_(position.at, position.id)
        )
    rows = list(session.scalars(query.order_by(Template.created_at, Template.id).limit(limit + 1)))
    return page(rows, limit, lambda row: (row.created_at, row.id))


def delete_template(session: Session, account_id: str, template_id: str) -> None:
    """Soft-delete a template; refused while documents in progress use it."""
    template = get_template(session, account_id, template_id)
    in_progress = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(
            Document.template_id == template.id,
            Document.status.not_in([status.value for status in FINAL_STATUSES]),
        )
    )
    if in_progress:
        raise ConflictError(
            f"Template {template_id} is used by {in_progress} document(s) in progress; "
            "cancel or finish them before deleting the template",
            documents_in_progress=in_progress,
        )
    now = clock.now()
    template.deleted_at = now
    template.updated_at = now
    logger.info(
        "Deleted template %s",
        template_id,
        extra={"action": "template_deleted", "template_id": template_id},
    )
