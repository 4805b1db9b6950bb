"""The ``docrelay`` command line."""

from __future__ import annotations

import typer

from docrelay.cli import admin, deliveries, emulate
from docrelay.cli.demo import demo
from docrelay.cli.reconcile import reconcile_command
from docrelay.cli.worker import worker_command

app = typer.Typer(
    name="docrelay",
    help="DocRelay: e-signature workflows with reliable document tracking.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("demo")(demo)
app.add_typer(emulate.app, name="emulate")
app.command("worker")(worker_command)
app.command("reconcile")(reconcile_command)
app.command("init")(admin.init_command)
app.command("serve")(admin.serve_command)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.apikeys_app, name="apikeys")
app.add_typer(deliveries.app, name="deliveries")
