"""Shared by the benchmark scripts."""

from __future__ import annotations

import sqlite3
import time


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait(db: sqlite3.Connection, sql: str, want: int, timeout: float = 300, step_s: float = 0.2,
         below: bool = False) -> int:
    """Poll a count until it reaches `want` (or falls to it, `below`), or the timeout; return the
    last count."""
    deadline = time.monotonic() + timeout
    while True:
        got = int(db.execute(sql).fetchone()[0])
        if (got <= want if below else got >= want) or time.monotonic() > deadline:
            return got
        time.sleep(step_s)
