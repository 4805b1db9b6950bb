"""Summarise the newest full run of each scenario as a Markdown table.

    python -m benchmarks.report [--results-dir DIR] [--include-quick]

Exits 1 when a judged goal was missed in the newest lines, so it can gate a job that
ran the scenarios first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.runner import DEFAULT_RESULTS_DIR

SIDE_METRICS = (
    "per_second",
    "p99_ms",
    "calls_per_update",
    "data_calls",
    "seconds_per_document",
    "peak_rss_mb",
)


def newest_lines(results_dir: Path, include_quick: bool) -> list[dict[str, Any]]:
    """Return the newest result line per (scenario, variant)."""
    newest: dict[tuple[str, str | None], dict[str, Any]] = {}
    for path in sorted(results_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("quick") and not include_quick:
                continue
            key = (record["scenario"], record.get("variant"))
            if key not in newest or record["started_at"] >= newest[key]["started_at"]:
                newest[key] = record
    return [newest[key] for key in sorted(newest, key=lambda k: (k[0], str(k[1])))]


def _side_median(record: dict[str, Any], side: str) -> str:
    for metric in SIDE_METRICS:
        values = [
            pair[side][metric] for pair in record["pairs"] if pair[side].get(metric) is not None
        ]
        if values:
            return f"{metric} {statistics.median(values):g}"
    return "-"


def markdown(records: list[dict[str, Any]]) -> str:
    rows = [
        "| scenario | variant | median ratio (min-max, pairs) | A median | B median | goal | load avg |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in records:
        ratio = record["ratio"]
        spread = f"{ratio['median']} ({ratio['min']}-{ratio['max']}, {ratio['pairs']})"
        met = {True: "met", False: "missed", None: "not judged"}[record["goal"]["met"]]
        load = record["machine"].get("load_average_1min", {})
        rows.append(
            f"| {record['scenario']} | {record.get('variant') or ''} | {spread} | "
            f"{_side_median(record, 'a')} | {_side_median(record, 'b')} | {met} | "
            f"{load.get('start')}-{load.get('end')} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_RESULTS_DIR,
        help="folder of <scenario>.jsonl files",
    )
    parser.add_argument("--include-quick", action="store_true", help="also consider --quick lines")
    args = parser.parse_args(argv)
    records = newest_lines(args.results_dir, args.include_quick)
    if not records:
        print(f"no result lines in {args.results_dir}", file=sys.stderr)
        return 2
    print(markdown(records))
    return 1 if any(record["goal"]["met"] is False for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
