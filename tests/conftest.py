"""Shared test set-up: no telemetry, the committed seed, and builders several test modules use.

Imported by name (`from conftest import SEED, read_with`): pytest puts this directory on sys.path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

for key, value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(key, value)

SEED = Path(__file__).parents[1] / "data" / "raw" / "000_c273f1a1012d9d74.txt"


@pytest.fixture
def seed_raw_dir(tmp_path: Path) -> Path:
    """A raw directory holding only the committed seed dump."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / SEED.name).write_bytes(SEED.read_bytes())
    return raw


def staged_candidate(dataset_dir: Path, tables: dict, row_group_size: int = 1000):
    """A candidate holding the given tables (Arrow or Polars), written by publish.write_table as a run does."""
    import polars as pl

    from flows import publish

    candidate = publish.new_candidate(dataset_dir)
    for name, table in tables.items():
        frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
        schema = table.schema if not isinstance(table, pl.DataFrame) else frame.to_arrow().schema
        publish.write_table(candidate, name, [frame], schema, row_group_size)
    return candidate


def read_with(reader, path: Path, year: int | None = None):
    """Run one reader directly on a file, as flows/extract.py does after sniffing (returns its Parsed)."""
    from flows.readers.base import Dump, decoded_text

    dump = Dump.load(path, path.parent)
    return reader.read(dump, decoded_text(dump.data)[0], year)


def sniffs(reader, path: Path) -> bool:
    """Whether a reader claims a file's content."""
    from flows.readers.base import decoded_text

    return reader.sniff(decoded_text(path.read_bytes())[0])


def _best_seconds(fn, arg) -> float:
    """Best of three timings of fn(arg): the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - start)
    return best


def growth_ratio(fn, make, small: int, factor: int = 8) -> float:
    """How much longer fn takes on `factor` times the input: ~factor when linear, ~factor² when quadratic.

    Two sizes in one run, so the ratio holds on a slow or busy machine where an absolute time would not.
    """
    fn(make(small))  # warm-up (imports, regex compilation)
    return _best_seconds(fn, make(small * factor)) / max(_best_seconds(fn, make(small)), 1e-6)
