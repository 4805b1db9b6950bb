"""``docrelay emulate ...``: local stand-ins for external systems."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from docrelay.errors import DocRelayError, ValidationError

app = typer.Typer(help="Run local emulators of external systems.", no_args_is_help=True)


@app.command("salesforce")
def salesforce(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(0, help="Port to listen on; 0 picks a free port."),
    state: Path | None = typer.Option(
        None, help="JSON file that keeps the org between runs (created when missing)."
    ),
    objects: list[Path] = typer.Option(
        [], "--objects", help="Extra object metadata JSON, merged over the built-in objects."
    ),
    fault: list[str] = typer.Option(
        [],
        "--fault",
        help="Fault rule KIND[,key=value...], repeatable. Kinds: lock_row, unavailable, "
        "server_error, delay, drop, expire_session, session_not_valid, request_limit, "
        "validation. Keys: times, probability, seconds, field, object, message, method, "
        "path_contains, include_auth. Example: --fault lock_row,times=3",
    ),
    fault_seed: int | None = typer.Option(None, help="Seed for probabilistic faults."),
    latency_ms: float = typer.Option(0.0, help="Delay added to every API call, in milliseconds."),
    daily_api_limit: int = typer.Option(15_000, help="API requests allowed per 24 hours."),
    session_timeout: int = typer.Option(7200, help="Idle session timeout, in seconds."),
    password: str | None = typer.Option(None, help="Password of the seeded user."),
) -> None:
    """Run an emulated Salesforce org until Ctrl-C.

    Prints the base URL, then one JSON line with the org id and the seeded
    credentials. Point ``DOCRELAY_SALESFORCE_ROUTE_URL`` at the URL.
    """
    from docrelay.emulators.salesforce import OrgSettings, SalesforceEmulator

    try:
        rules = [parse_fault_option(text) for text in fault]
        settings = OrgSettings(
            latency_ms=latency_ms,
            daily_api_limit=daily_api_limit,
            session_timeout_seconds=session_timeout,
        )
        extra: dict[str, Any] = {"password": password} if password else {}
        emulator = SalesforceEmulator(
            host,
            port,
            state_file=state,
            settings=settings,
            object_files=tuple(objects),
            faults=rules,
            fault_seed=fault_seed,
            **extra,
        )
    except DocRelayError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from error

    def announce() -> None:
        key_file = _write_private_key(emulator.org.private_key_pem, state)
        info = emulator.info()
        typer.echo(emulator.base_url)
        typer.echo(
            json.dumps(
                {
                    "base_url": emulator.base_url,
                    "org_id": info["org_id"],
                    "username": info["username"],
                    "password": info["password"],
                    "security_token": info["security_token"],
                    "consumer_key": info["consumer_key"],
                    "consumer_secret": info["consumer_secret"],
                    "my_domain": info["my_domain"],
                    "jwt_private_key_file": str(key_file),
                    "inspect_url": f"{emulator.base_url}/__emulator/",
                }
            )
        )

    # SIGTERM (service managers, ``timeout``) stops the server like Ctrl-C, so the state is saved.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(emulator.serve(on_ready=announce, handle_signals=True))
    emulator.stop()


def parse_fault_option(text: str) -> dict[str, Any]:
    """Parse ``KIND[,key=value...]`` into a fault rule dict; raise ValidationError naming the part."""
    kind, *pairs = [part.strip() for part in text.split(",")]
    rule: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise ValidationError.for_field("fault", f"{pair!r} in {text!r} is not key=value")
        rule[key] = _fault_value(key, value)
    return rule


def _fault_value(key: str, value: str) -> Any:
    try:
        if key == "times":
            return int(value)
        if key in ("probability", "seconds"):
            return float(value)
    except ValueError:
        raise ValidationError.for_field("fault", f"{key}={value!r} is not a number") from None
    if key == "include_auth":
        return value.lower() in ("1", "true", "yes")
    return value


def _write_private_key(pem: str, state: Path | None) -> Path:
    """Write the JWT private key where a local client can read it (owner-only permissions).

    Beside a state file the key lives as long as the state; otherwise it goes into a new
    temporary file (unpredictable name, created exclusively) that is deleted at exit.
    """
    if state is not None:
        path = state.with_name(state.name + ".jwt-key.pem")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    else:
        descriptor, name = tempfile.mkstemp(prefix="docrelay-emulator-", suffix=".jwt-key.pem")
        path = Path(name)
        atexit.register(_remove_quietly, path)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(pem)
    return path


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
