"""Small statistics helpers: percentiles and pair-ratio summaries."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_summary(latencies_s: Sequence[float]) -> dict[str, Any]:
    """Summarise latencies given in seconds as milliseconds."""
    if not latencies_s:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": len(latencies_s),
        "p50_ms": round(percentile(latencies_s, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies_s, 99) * 1000, 3),
        "max_ms": round(max(latencies_s) * 1000, 3),
    }


def ratio_summary(ratios: Sequence[float]) -> dict[str, Any]:
    """Return the median, min and max of pair ratios (the reported figure is the median)."""
    usable = [r for r in ratios if r is not None and math.isfinite(r)]
    if not usable:
        return {"median": None, "min": None, "max": None, "pairs": 0}
    return {
        "median": round(statistics.median(usable), 4),
        "min": round(min(usable), 4),
        "max": round(max(usable), 4),
        "pairs": len(usable),
    }


def safe_ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator
