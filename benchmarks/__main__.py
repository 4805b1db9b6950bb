"""Command line: ``python -m benchmarks SCENARIO... [--quick] [--results-dir DIR]``."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks.runner import (
    DEFAULT_PAIRS,
    DEFAULT_RESULTS_DIR,
    QUICK_PAIRS,
    Context,
    Scenario,
    run_many,
)
from benchmarks.scenarios import SCENARIOS


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ids = ", ".join(SCENARIOS)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run DocRelay's benchmarks against local baselines on 127.0.0.1.",
    )
    parser.add_argument("scenario", nargs="+", help=f"one or more of {ids}, or 'all'")
    parser.add_argument(
        "--quick", action="store_true", help="one pair and small sizes (a few seconds)"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        help=f"A/B pairs per scenario (default {DEFAULT_PAIRS}, quick {QUICK_PAIRS})",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_RESULTS_DIR,
        help="where <scenario>.jsonl lines go",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds of steady load in P2/P3 (overrides the default)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply full-run sizes, e.g. 4 for P1's 20,000 deliveries",
    )
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="skip scenarios and variants that need PostgreSQL",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write profiles of the DocRelay side (P1, P2, P6) into this folder",
    )
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    selected: list[Scenario] = []
    for name in args.scenario:
        key = "baselines" if name.lower() == "baselines" else name.upper()
        if name.lower() == "all":
            selected.extend(SCENARIOS.values())
        elif key in SCENARIOS:
            selected.append(SCENARIOS[key])
        else:
            print(
                f"unknown scenario {name!r}: choose from {', '.join(SCENARIOS)} or 'all'",
                file=sys.stderr,
            )
            return 2
    # SIGTERM ends the run through the normal exit path, so receivers, workers and
    # scratch databases are cleaned up by their context managers.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    pairs = args.pairs or (QUICK_PAIRS if args.quick else DEFAULT_PAIRS)
    if pairs < 1:
        print("--pairs must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="docrelay-bench-") as work_dir:
        context = Context(
            quick=args.quick,
            pairs=pairs,
            results_dir=args.results_dir,
            work_dir=Path(work_dir),
            profile_dir=args.profile,
            duration=args.duration,
            use_postgres=not args.no_postgres,
            scale=args.scale,
        )
        return run_many(selected, context)


if __name__ == "__main__":
    sys.exit(main())
