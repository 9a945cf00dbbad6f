"""Publish: the one module that writes a version — candidate tables, then manifest, and the `latest` pointer.

Write-audit-publish: tables are written into a hidden candidate directory next to the versions, compared with
`latest`, validated by the caller, then promoted with one atomic rename; `latest` is replaced atomically after
that. A crash at any point leaves `latest` naming a complete version (flows/recovery.py finishes or undoes the
rest). This module writes; it does not decide what is valid.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flows import identity
from flows.card import card_plots, dataset_card
from flows.census import census_counts
from flows.outcome import Report
from flows.report import INDEX, report_files
from flows.store import (
    ATOMIC_TEMP,
    LATEST,
    MANIFEST,
    REJECTED,
    fsync_dir,
    fsync_tree,
    latest_name,
    read_manifest,
    sha256_file,
    version_names,
    write_atomic,
)
from schemas.tables import PUBLISHED, conform, empty, fingerprint, parquet_layout, schema_description, viewed


@dataclass(frozen=True)
class Candidate:
    """Tables written to a hidden directory, not yet visible to readers."""

    path: Path
    outputs: dict[str, dict]  # file name -> {sha256, bytes, rows}

    def tables(self) -> dict[str, pl.LazyFrame]:
        """The candidate's tables, lazily: checks and the card read only the columns they need."""
        return {name: pl.scan_parquet(self.path / f"{name}.parquet") for name in PUBLISHED}

    def rows(self) -> dict[str, int]:
        """Rows of each table written so far, by table name."""
        return {f.removesuffix(".parquet"): o["rows"] for f, o in self.outputs.items()}


def new_candidate(dataset_dir: Path, create: bool = True) -> Candidate:
    """A new hidden directory beside the versions for a candidate's files (created now, or by its first table)."""
    candidate = Candidate(dataset_dir / f".candidate-{uuid.uuid4().hex[:12]}", {})
    if create:
        candidate.path.mkdir(parents=True)
    return candidate


@contextmanager
def staged(dataset_dir: Path) -> Iterator[Candidate]:
    """A new candidate for one run, removed when the run leaves without publishing or setting it aside."""
    # Created by its first table (write_table), so a run that ends early leaves nothing to remove.
    candidate = new_candidate(dataset_dir, create=False)
    try:
        yield candidate
    finally:
        if candidate.path.exists():
            discard(candidate)


def write_table(
    candidate: Candidate, name: str, frames: Iterable[pl.DataFrame | pa.Table], schema: pa.Schema,
    row_group_size: int,
) -> None:
    """Write frames (Polars, or Arrow already in `schema`'s types), in order, as one Parquet table of the
    candidate, holding at most a row group at a time.

    Row groups are cut every `row_group_size` rows whatever the frames' sizes, and each is written from one
    contiguous buffer: the same rows give the same bytes, however they arrived.
    """
    candidate.path.mkdir(parents=True, exist_ok=True)
    target = candidate.path / f"{name}.parquet"
    rows, pending, pending_rows = 0, [], 0
    # Rows arrive as string views (conform); the file says what the table declares. pyarrow would store the
    # views' schema, so the declared one is stored as pyarrow stores a schema (the same bytes as writing plain
    # strings with store_schema=True; tests/test_publish.py checks it).
    # zstd level 3: at a million papers, faster to write than level 1 (4.1 / 4.4 s: less to write) and smaller.
    with pq.ParquetWriter(target, viewed(schema), compression="zstd", compression_level=3, store_schema=False,
                          **parquet_layout(schema)) as writer:
        writer.add_key_value_metadata({b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())})

        def flush(tables: list[pa.Table]) -> None:
            writer.write_table(pa.concat_tables(tables).combine_chunks(), row_group_size=row_group_size)

        for frame in frames:
            table = frame.cast(viewed(schema)) if isinstance(frame, pa.Table) else conform(frame, schema)
            pending.append(table)
            pending_rows += table.num_rows
            while pending_rows >= row_group_size:
                whole = pa.concat_tables(pending)
                flush([whole.slice(0, row_group_size)])
                rows += row_group_size
                rest = whole.slice(row_group_size)
                pending, pending_rows = [rest], rest.num_rows
        if pending_rows or not rows:
            flush(pending or [conform(empty(schema), schema)])
            rows += pending_rows
    candidate.outputs[target.name] = {"sha256": sha256_file(target), "bytes": target.stat().st_size, "rows": rows}


def same_as_latest(dataset_dir: Path, candidate: Candidate) -> bool:
    """True when every table of the candidate is byte-identical to the one in `latest`."""
    latest = latest_name(dataset_dir)
    if latest is None:
        return False
    published = {o["file"]: o["sha256"] for o in read_manifest(dataset_dir, latest).get("outputs", [])}
    return all(published.get(f) == o["sha256"] for f, o in candidate.outputs.items())


def discard(candidate: Candidate) -> None:
    """Remove a candidate that will not be published."""
    shutil.rmtree(candidate.path, ignore_errors=True)


def write_report(report_dir: Path, report: Report) -> Path:
    """Write a validation report's files (page, results JSON, GX Data Docs) into report_dir; returns the page.

    Used for a candidate's report/ and for `papers validate`'s report-<time>/ beside a published version.
    """
    for rel, content in report_files(report).items():
        path = report_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return report_dir / INDEX


def set_aside(dataset_dir: Path, candidate: Candidate, label: str, report: Report) -> Path:
    """Keep a blocked candidate with its report under rejected/ for the reviewer; it is never read as data.

    Returns the report's page in its new place.
    """
    write_report(candidate.path / "report", report)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = dataset_dir / REJECTED / f"{stamp}-{label}"
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate.path.rename(target)
    return target / "report" / INDEX


def published(dataset_dir: Path, candidate: Candidate, name: str, manifest: dict, report: Report) -> Path:
    """Write the validation report, the dataset card and its plots into the candidate, then promote it as `name`."""
    write_report(candidate.path / "report", report)
    # The card reads counts, languages and flags: every column but the texts.
    summary = {t: frame.select(pl.exclude(identity.TEXTS)).collect() for t, frame in candidate.tables().items()}
    (candidate.path / "README.md").write_text(dataset_card(name, summary, manifest), encoding="utf-8")
    for rel, svg in card_plots(summary).items():
        (candidate.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (candidate.path / rel).write_text(svg, encoding="utf-8")
    return promoted(dataset_dir, candidate, name, manifest)


def promoted(dataset_dir: Path, candidate: Candidate, name: str, manifest: dict) -> Path:
    """Make the candidate version `name`: manifest in, one atomic rename, then `latest` replaced atomically.

    The manifest gains `files`: the sha256 and size of every file of the version (tables, card, report, plots)
    except the manifest itself, so a whole version can be verified (see version_problems).
    """
    manifest = {**manifest, "files": _file_entries(candidate)}
    write_atomic(candidate.path / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    fsync_tree(candidate.path)
    target = dataset_dir / name
    os.rename(candidate.path, target)  # fails rather than overwrite: a published version is never rewritten
    fsync_dir(dataset_dir)
    write_atomic(dataset_dir / LATEST, name + "\n")
    return target


def _file_entries(candidate: Candidate) -> list[dict]:
    """sha256 and bytes of every file under the candidate but the manifest; staged tables are not hashed twice."""
    entries = []
    for path in sorted(p for p in candidate.path.rglob("*") if p.is_file()):
        rel = path.relative_to(candidate.path).as_posix()
        if rel == MANIFEST or ATOMIC_TEMP.match(path.name):
            continue
        staged = candidate.outputs.get(rel)
        digest = staged["sha256"] if staged else sha256_file(path)
        entries.append({"file": rel, "sha256": digest, "bytes": path.stat().st_size})
    return entries


def remember_run(runs_dir: Path, run_print: str, name: str) -> None:
    """Note that a run with this fingerprint gave version `name`'s content again (after a code change that
    changed nothing), so the next such run can say "unchanged" without running the pipeline."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(runs_dir / run_print, name + "\n")


def pruned_versions(dataset_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` versions (never `latest`); call while holding the dataset lock.

    Each version is first renamed out of the version namespace, so it disappears from listings at once and a
    crash halfway leaves a hidden directory rather than a broken version.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    names = version_names(dataset_dir)
    protected = set(names[-keep:]) | {latest_name(dataset_dir)}
    removed = []
    for name in names:
        if name in protected:
            continue
        doomed = dataset_dir / f".removing-{name}-{uuid.uuid4().hex[:8]}"
        os.rename(dataset_dir / name, doomed)
        shutil.rmtree(doomed)
        removed.append(name)
    return removed


# ---------------------------------------------------------------------------------------------- manifest


def version_manifest(
    name: str, parent: str | None, inputs: list[dict], raw_records: int, run_print: str, candidate: Candidate,
    validation: dict, diff: dict | None,
) -> dict:
    """The manifest.json of a version: provenance, outputs, schema, validation, reconciled counts."""
    rows = candidate.rows()
    return {
        "version": name,
        "parent": parent,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "run_fingerprint": run_print,
        "inputs": inputs,
        "outputs": [{"file": f, **o} for f, o in candidate.outputs.items()],
        "schema_fingerprint": fingerprint(),
        "schema": schema_description(),
        "validation": validation,
        "counts": {
            "raw_records": raw_records,
            "appearances": rows["appearances"],
            "quarantined": rows["quarantine"],
            "papers": rows["papers"],
            "links": rows["links"],
            "reconciles": raw_records == rows["appearances"] + rows["quarantine"],
            "census": census_counts(inputs),
        },
        "diff": diff,
    }


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
            text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version('papers')}+{commit}" if commit else version("papers")
