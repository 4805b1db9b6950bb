"""``docrelay init``, ``serve``, ``db upgrade`` and ``apikeys create``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from sqlalchemy import select

from docrelay.config import Settings, get_settings
from docrelay.errors import ConfigurationError
from docrelay.logs import configure_logging
from docrelay.runtime import Runtime

logger = logging.getLogger(__name__)

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API key commands.", no_args_is_help=True)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _load() -> tuple[Settings, Runtime]:
    """Read the settings and build the runtime; a configuration error exits with status 2."""
    try:
        settings = get_settings()
        configure_logging(settings.log_format, settings.log_level)
        return settings, Runtime.from_settings(settings)
    except ConfigurationError as exc:
        raise _fail(f"Configuration error: {exc.message}", 2) from None


def _upgrade(runtime: Runtime) -> None:
    from docrelay.storage import migrate

    migrate.upgrade(runtime.database)


def init_command(
    account_name: Annotated[
        str, typer.Option("--account-name", help="Name of the account to create.")
    ],
) -> None:
    """Create or migrate the database, create an account and print its first API key once."""
    from docrelay.accounts.service import create_account, create_api_key
    from docrelay.storage.models import Account

    _settings, runtime = _load()
    try:
        _upgrade(runtime)
        with runtime.database.transaction() as session:
            existing = session.scalar(select(Account).where(Account.name == account_name))
            if existing is not None:
                raise _fail(
                    f"An account named {account_name!r} already exists (context id {existing.context_id}). "
                    f"Create another key with `docrelay apikeys create --account {existing.context_id}`.",
                    1,
                )
            account = create_account(session, account_name)
            key = create_api_key(session, account, "created by docrelay init")
            context_id = account.context_id
    finally:
        runtime.close()
    typer.echo(f"Account:    {account_name}")
    typer.echo(f"Context ID: {context_id}")
    typer.echo(f"API key:    {key.secret}")
    typer.echo("Store the API key now: it is shown only once.")


def upgrade_command() -> None:
    """Bring the database schema up to date."""
    _settings, runtime = _load()
    try:
        _upgrade(runtime)
    finally:
        runtime.close()
    typer.echo("Database schema is up to date.")


def create_key_command(
    account: Annotated[
        str, typer.Option("--account", help="Context id of the account the key belongs to.")
    ],
    name: Annotated[
        str, typer.Option("--name", help="A label for the key, such as the program that uses it.")
    ] = "default",
) -> None:
    """Create an API key for an account and print it once."""
    from docrelay.accounts.service import create_api_key
    from docrelay.storage.models import Account

    _settings, runtime = _load()
    try:
        with runtime.database.transaction() as session:
            row = session.scalar(select(Account).where(Account.context_id == account))
            if row is None:
                raise _fail(f"No account has context id {account!r}; `docrelay init` prints it.", 1)
            key = create_api_key(session, row, name)
    finally:
        runtime.close()
    typer.echo(f"API key: {key.secret}")
    typer.echo("Store the API key now: it is shown only once.")


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default DOCRELAY_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default DOCRELAY_PORT, 8000).")
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Do not run the delivery worker and scheduler in this process."
        ),
    ] = False,
) -> None:
    """Serve the REST and signing API; with SQLite, migrate the database first."""
    import uvicorn

    from docrelay.storage import migrate
    from docrelay.web.app import create_app

    settings, runtime = _load()
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    settings.base_url = effective_base_url(settings, bind_host, bind_port)
    if settings.is_sqlite:
        _upgrade(runtime)
    elif not migrate.is_current(runtime.database):
        runtime.close()
        raise _fail("The database schema is not up to date; run `docrelay db upgrade` first.", 1)
    app = create_app(runtime, run_background=settings.worker_enabled and not no_worker)
    logger.info(
        "Signing and download links use %s (set DOCRELAY_BASE_URL to change it)",
        settings.base_url,
        extra={"action": "serve_base_url"},
    )
    try:
        uvicorn.run(app, host=bind_host, port=bind_port, log_config=None)
    finally:
        runtime.close()


def effective_base_url(settings: Settings, host: str, port: int) -> str:
    """Return DOCRELAY_BASE_URL when set, else the URL of the address ``serve`` listens on.

    Signing and download links must point at this server when no public URL is configured.
    """
    if "base_url" in settings.model_fields_set:
        return settings.base_url
    return f"http://{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


db_app.command("upgrade")(upgrade_command)
apikeys_app.command("create")(create_key_command)
