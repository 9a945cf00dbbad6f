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
    workers: int = Field(0, description="processes preparing files in parallel (0 = one per core)")
    row_group_size: int = Field(100_000, description="Parquet row-group size")
    blocking_warnings: frozenset[str] = Field(
        frozenset(), description="warning checks that block publishing, e.g. row_count_drop_vs_parent"
    )
    allow_schema_change: bool = Field(False, description="publish even if a column was removed or retyped")
    allow_removals: bool = Field(False, description="publish even if papers of the parent version would go")

    @property
    def dataset_dir(self) -> Path:
        return self.out_dir / "papers"

    @property
    def cache_dir(self) -> Path:
        """Results kept between runs; safe to delete."""
        return self.out_dir / ".cache"

    @property
    def files_cache_dir(self) -> Path:
        """Each prepared file's records, keyed by its content, options and the code's rules."""
        return self.cache_dir / "files"

    @property
    def runs_cache_dir(self) -> Path:
        """Run fingerprints whose content equals a published version (see publish.remember_run)."""
        return self.cache_dir / "runs"
