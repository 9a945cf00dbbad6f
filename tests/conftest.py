"""Shared test set-up: no telemetry, Prefect's temporary local API, the committed seed."""

from __future__ import annotations

import os
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
