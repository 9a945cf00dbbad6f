"""Timing helpers for the bounded-time tests (tests/readers/test_reader_fuzz.py, tests/test_census.py).

The reader fuzz tests moved to tests/readers/; these two helpers stay importable under this name because
tests/test_census.py imports `_ratio` from here. To go once tests/conftest.py offers them (`growth_ratio`).
"""

from __future__ import annotations

import time


def _seconds(fn, arg) -> float:
    """Best of three timings of fn(arg): the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - start)
    return best


def _ratio(fn, make, small: int, factor: int = 8) -> float:
    """How much longer fn takes on `factor` times the input: ~factor when linear, ~factor² when quadratic."""
    fn(make(small))  # warm-up (imports, regex compilation)
    return _seconds(fn, make(small * factor)) / max(_seconds(fn, make(small)), 1e-6)
