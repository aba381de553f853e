"""The benchmark (python bench/compare.py); see docs/benchmarks.md."""

from __future__ import annotations

import sys
import time

STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, with the seconds since the benchmark started (the report goes to stdout)."""
    print(f"[bench +{time.monotonic() - STARTED:.0f}s] {message}", file=sys.stderr, flush=True)
