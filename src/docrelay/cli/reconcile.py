"""``docrelay reconcile``: run the Salesforce reconciler now, with a progress display."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from docrelay.config import get_settings
from docrelay.errors import ConfigurationError
from docrelay.logs import configure_logging
from docrelay.runtime import Runtime
from docrelay.salesforce.reconcile import LEASE_NAME, ReconcileReport, reconcile
from docrelay.storage import leases

STATE_LABELS = {
    "done": "done",
    "paused_budget": "paused: API budget",
    "credential_paused": "skipped: credential paused",
    "failed": "failed",
}


def reconcile_command(
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Reconcile only this account id (repeatable)."),
    ] = None,
) -> None:
    """Re-push to Salesforce the current status of every linked document it has not confirmed."""
    try:
        settings = get_settings()
        configure_logging(settings.log_format, "WARNING")
        runtime = Runtime.from_settings(settings)
    except ConfigurationError as exc:
        typer.echo(f"Configuration error: {exc.message}", err=True)
        raise typer.Exit(2) from None

    console = Console()
    holder = f"cli:{socket.gethostname()}:{os.getpid()}"
    try:
        if not leases.try_acquire(runtime.database, LEASE_NAME, holder, dt.timedelta(hours=1)):
            typer.echo(
                "Another worker is reconciling right now; try again when it has finished.",
                err=True,
            )
            raise typer.Exit(1)
        try:
            report = _run_with_progress(runtime, console, account or None)
            leases.mark_run(runtime.database, LEASE_NAME, holder)
        finally:
            leases.release(runtime.database, LEASE_NAME, holder)
    finally:
        runtime.close()
    console.print(_summary(report))
    if any(run.state == "failed" or run.failed for run in report.accounts):
        raise typer.Exit(1)


def _run_with_progress(
    runtime: Runtime, console: Console, account_ids: list[str] | None
) -> ReconcileReport:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def show(account_id: str, done: int, total: int) -> None:
            task = tasks.get(account_id)
            if task is None:
                task = tasks[account_id] = progress.add_task(f"account {account_id}", total=total)
            progress.update(task, completed=done, total=total)

        return reconcile(runtime, account_ids=account_ids, progress=show)


def _summary(report: ReconcileReport) -> Table | str:
    if not report.accounts:
        return "No account has Salesforce tracking switched on with a stored credential."
    table = Table(title="Salesforce reconciler")
    for column in ("account", "result", "behind", "written", "skipped", "failed"):
        table.add_column(column)
    for run in report.accounts:
        table.add_row(
            run.account_id,
            STATE_LABELS.get(run.state, run.state) + (f" ({run.error})" if run.error else ""),
            str(run.behind),
            str(run.written),
            str(run.skipped),
            str(run.failed),
        )
    return table
