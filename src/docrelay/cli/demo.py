"""``docrelay demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    pdf: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Use this PDF as the template instead of the bundled sample.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep DocRelay's data here instead of a temporary directory."),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option(
            help="Keep DocRelay and the emulator running after the demo and print their URLs."
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for each step to show up in Salesforce.")
    ] = 60.0,
) -> None:
    """Run DocRelay end to end against a local Salesforce emulator and verify the result in the org."""
    # Imported here so that `docrelay --help` does not load the web app and the emulator.
    from docrelay.demo import DemoOptions, run_demo

    raise typer.Exit(
        run_demo(
            DemoOptions(pdf=pdf, data_dir=data_dir, keep_running=keep_running, timeout=timeout)
        )
    )
