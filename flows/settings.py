"""One settings object for the whole pipeline: paths and knobs, overridable by PAPERS_* env vars and CLI flags.

Nothing else in the package reads the environment; flows receive a Settings (or its fields) as parameters.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the pipeline reads, writes and caches, and how it behaves."""

    model_config = SettingsConfigDict(env_prefix="PAPERS_", extra="ignore")

    raw_dir: Path = Field(Path("data/raw"), description="input dumps, never modified")
    out_dir: Path = Field(Path("data/processed"), description="published versions live in <out_dir>/papers")
    year: int | None = Field(None, description="year for digests whose header has no year")
    lock_timeout_s: float = Field(0.0, description="how long to wait for another run's lock before giving up")
    language_workers: int = Field(0, description="processes for language detection (0 = cores)")
    row_group_size: int = Field(100_000, description="Parquet row-group size")
    blocking_warnings: frozenset[str] = Field(
        frozenset(), description="warning checks that block publishing, e.g. row_count_drop_vs_parent"
    )
    allow_schema_change: bool = Field(False, description="publish even if a column was removed or retyped")

    @property
    def dataset_dir(self) -> Path:
        return self.out_dir / "papers"

    @property
    def cache_dir(self) -> Path:
        """Per-file extraction results, keyed by content hash; safe to delete."""
        return self.out_dir / ".cache"
