"""Templates: upload a PDF with its definition, list, read, version, delete, download the source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from docrelay.documents.pagination import DEFAULT_LIMIT, check_limit
from docrelay.errors import ValidationError
from docrelay.runtime import Runtime
from docrelay.storage.models import Template, TemplateVersion
from docrelay.templates import service
from docrelay.web.caller import CallerDep
from docrelay.web.deps import AccountDep, RuntimeDep, SessionDep
from docrelay.web.downloads import pdf_response

router = APIRouter(prefix="/templates", tags=["templates"])

FileField = Annotated[UploadFile, File(description="The template PDF.")]
DefinitionField = Annotated[
    str,
    Form(
        description="JSON: name, fields, signatories, steps, expiration_days, pre_expiration_warning_days, storage_location."
    ),
]


def template_view(template: Template, version: TemplateVersion) -> dict[str, Any]:
    definition = dict(version.definition)
    return {
        "id": template.id,
        "name": template.name,
        "version": version.version,
        "created_at": template.created_at.isoformat(),
        "updated_at": template.updated_at.isoformat(),
        "source_filename": version.source_filename,
        "source_sha256": version.source_sha256,
        "page_count": version.page_count,
        "pages": [
            {"number": p["number"], "width": p["width"], "height": p["height"]}
            for p in version.pages
        ],
        "fields": definition.get("fields", []),
        "signatories": definition.get("signatories", []),
        "steps": service.TemplateDefinition.model_validate(definition).resolved_steps,
        "expiration_days": definition.get("expiration_days"),
        "pre_expiration_warning_days": definition.get("pre_expiration_warning_days", []),
        "storage_location": definition.get("storage_location"),
    }


def _read_upload(runtime: Runtime, upload: UploadFile) -> service.Upload:
    limit = runtime.settings.max_template_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ValidationError.for_field("file", f"is larger than the limit of {limit} bytes")
    return service.Upload(filename=upload.filename or "template.pdf", data=data)


def _view_by_id(runtime: Runtime, account_id: str, template_id: str) -> dict[str, Any]:
    with runtime.database.transaction() as session:
        template = service.get_template(session, account_id, template_id)
        return template_view(template, service.current_version(session, template))


@router.post("", status_code=201, summary="Create a template from a PDF and a definition")
def create_template(
    runtime: RuntimeDep, caller: CallerDep, file: FileField, definition: DefinitionField
) -> dict[str, Any]:
    prepared = service.prepare_version(runtime, _read_upload(runtime, file), definition)
    template_id = service.create_template(runtime, caller.account_id, prepared)
    return _view_by_id(runtime, caller.account_id, template_id)


@router.get("", summary="List templates")
def list_templates(
    session: SessionDep,
    account: AccountDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    rows, next_cursor = service.list_templates(session, account.id, cursor, check_limit(limit))
    return {
        "items": [template_view(row, service.current_version(session, row)) for row in rows],
        "next_cursor": next_cursor,
    }


@router.get("/{template_id}", summary="Read a template")
def get_template(session: SessionDep, account: AccountDep, template_id: str) -> dict[str, Any]:
    template = service.get_template(session, account.id, template_id)
    return template_view(template, service.current_version(session, template))


@router.put("/{template_id}", summary="Store a new version of a template")
def update_template(
    runtime: RuntimeDep,
    caller: CallerDep,
    template_id: str,
    definition: DefinitionField,
    file: Annotated[
        UploadFile | None, File(description="A new PDF; omit to keep the current one.")
    ] = None,
) -> dict[str, Any]:
    with runtime.database.transaction() as session:
        template = service.get_template(session, caller.account_id, template_id)
        version = service.current_version(session, template)
    if file is not None:
        prepared = service.prepare_version(runtime, _read_upload(runtime, file), definition)
        reuse = None
    else:
        prepared = service.prepare_definition_only(version, definition)
        reuse = version.source_blob
    service.add_version(runtime, caller.account_id, template_id, prepared, reuse)
    return _view_by_id(runtime, caller.account_id, template_id)


@router.delete(
    "/{template_id}", status_code=204, summary="Delete a template no document in progress uses"
)
def delete_template(session: SessionDep, account: AccountDep, template_id: str) -> Response:
    service.delete_template(session, account.id, template_id)
    return Response(status_code=204)


@router.get("/{template_id}/source", summary="Download the template's normalised source PDF")
def download_source(runtime: RuntimeDep, caller: CallerDep, template_id: str) -> Response:
    with runtime.database.transaction() as session:
        template = service.get_template(session, caller.account_id, template_id)
        version = service.current_version(session, template)
    return pdf_response(runtime.blobs.get(version.source_blob), version.source_filename)
