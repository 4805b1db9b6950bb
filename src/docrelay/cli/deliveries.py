"""``docrelay deliveries list`` and ``docrelay deliveries resend``.

Both talk to the database directly through the same service functions the
API uses, scoped to one account by its context id (``--account``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from docrelay.config import get_settings
from docrelay.errors import ConfigurationError, DocRelayError
from docrelay.logs import configure_logging
from docrelay.runtime import Runtime
from docrelay.storage.models import Account

app = typer.Typer(help="Inspect and resend deliveries.", no_args_is_help=True)

AccountOption = Annotated[
    str, typer.Option("--account", help="Context id of the account (shown by `docrelay init`).")
]
StateOption = Annotated[
    list[str] | None,
    typer.Option("--state", help="Delivery state; repeat for several (e.g. --state failed)."),
]
DocumentOption = Annotated[str | None, typer.Option("--document", help="Document id.")]
DesignOption = Annotated[str | None, typer.Option("--design", help="Design id.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _runtime() -> Runtime:
    try:
        settings = get_settings()
        configure_logging(settings.log_format, "WARNING")
        return Runtime.from_settings(settings)
    except ConfigurationError as exc:
        raise _fail(f"Configuration error: {exc.message}", 2) from None


def _account_id(runtime: Runtime, context_id: str) -> str:
    with runtime.database.session() as session:
        found = session.scalar(select(Account.id).where(Account.context_id == context_id))
    if found is None:
        raise _fail(f"No account with context id {context_id!r}; `docrelay init` prints it.")
    return found


@app.command("list")
def list_command(
    account: AccountOption,
    state: StateOption = None,
    document: DocumentOption = None,
    design: DesignOption = None,
    limit: Annotated[int, typer.Option(help="Maximum rows to show, 1 to 200.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead.")] = False,
) -> None:
    """List an account's deliveries, newest first."""
    from docrelay.delivery import log
    from docrelay.documents.pagination import check_limit

    runtime = _runtime()
    try:
        account_id = _account_id(runtime, account)
        with runtime.database.session() as session:
            items, _ = log.list_deliveries(
                session,
                account_id,
                states=list(state or []),
                document_id=document,
                design_id=design,
                cursor=None,
                limit=check_limit(limit),
            )
    except DocRelayError as exc:
        raise _fail(f"Error: {exc}") from None
    finally:
        runtime.close()
    if as_json:
        for item in items:
            typer.echo(json.dumps(item, default=str))
        return
    table = Table("Delivery", "Created", "Document", "Design", "Event", "State", "Tries", "Error")
    for item in items:
        table.add_row(
            item["id"],
            str(item["created_at"])[:19],
            item["document_id"],
            item.get("design_name") or item["design_id"],
            item["event"],
            item["state"],
            str(item["attempts"]),
            (item.get("last_error_class") or "")[:40],
        )
    Console().print(table)


@app.command("resend")
def resend_command(
    account: AccountOption,
    state: StateOption = None,
    document: DocumentOption = None,
    design: DesignOption = None,
    event: Annotated[str | None, typer.Option(help="Event type, e.g. document.completed.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Created at or after, ISO 8601 with offset.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Created before, ISO 8601 with offset.")] = None,
    rate: Annotated[
        float, typer.Option(help="Maximum deliveries released per second and destination.")
    ] = 10.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be resent.")
    ] = False,
    background: Annotated[
        bool,
        typer.Option(
            "--background", help="Queue the job for the worker instead of running it here."
        ),
    ] = False,
) -> None:
    """Resend the deliveries the filters name (default: failed ones), rate-limited per destination."""
    from docrelay.delivery import resend, resend_jobs

    fields: dict[str, Any] = {
        "document_id": document,
        "design_id": design,
        "event": event,
        "created_after": since,
        "created_before": until,
        "dry_run": dry_run,
        "rate_per_second": rate,
    }
    if state:
        fields["state"] = list(state)
    try:
        body = resend.BulkResendInput.model_validate(
            {key: value for key, value in fields.items() if value is not None}
        )
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise _fail(f"Invalid option: {problems}", 2) from None

    runtime = _runtime()
    try:
        account_id = _account_id(runtime, account)
        if dry_run:
            with runtime.database.session() as session:
                resend.check_references(session, account_id, body.filters())
                counted = resend.count(session, account_id, body.filters())
            typer.echo(
                f"{counted['count']} deliveries would be resent "
                f"({counted['skipped']} skipped: a newer status of the same document and design exists)."
            )
            return
        with runtime.database.transaction() as session:
            job = resend_jobs.create_job(session, account_id, body)
            job_id, total = job.id, job.total
        if background:
            typer.echo(f"Queued job {job_id} for {total} deliveries; the worker runs it.")
            typer.echo(f"Follow it with GET /api/v1/jobs/{job_id}.")
            return
        _run_with_progress(runtime, job_id, total)
    except DocRelayError as exc:
        raise _fail(f"Error: {exc}") from None
    finally:
        runtime.close()


def _run_with_progress(runtime: Runtime, job_id: str, total: int) -> None:
    from docrelay.delivery import resend_jobs
    from docrelay.storage.models import Job

    if not resend_jobs.claim_job(runtime.database, job_id):
        raise _fail(
            f"Job {job_id} was taken by a worker; follow it with GET /api/v1/jobs/{job_id}."
        )
    columns = (
        TextColumn("Resending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("resend", total=total)

        def update(done: int, job_total: int) -> None:
            progress.update(task, completed=done, total=max(job_total, done))

        state = resend_jobs.run_job(runtime.database, job_id, on_progress=update)
    with runtime.database.session() as session:
        job = session.get(Job, job_id)
        view = resend_jobs.job_view(job) if job is not None else {}
    typer.echo(
        f"Job {job_id} {state}: {view.get('resent', 0)} resent, {view.get('skipped', 0)} skipped."
        " The worker sends them as they come due."
    )
