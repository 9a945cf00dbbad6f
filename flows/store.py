"""The dataset directory as readers see it: versions, `latest`, manifests, and the durable-write primitives.

A version is an immutable directory `vN` holding its tables, card, report and `manifest.json`; `latest` is a
one-line file naming the newest good version. This module reads them, verifies a version against its manifest,
and provides the atomic, fsynced writes that flows/publish.py (new versions) and flows/recovery.py (repairs)
are built on. It never decides what is valid and never writes a version itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path

import polars as pl

from schemas.tables import PUBLISHED

LATEST = "latest"
MANIFEST = "manifest.json"
REJECTED = "rejected"
VERSION_NAME = re.compile(r"^v(\d+)$")
# The temporary name write_atomic gives a file until it is renamed into place (`.latest.<hex>`).
ATOMIC_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}$")


class VersionNotFound(Exception):
    """A version name that does not exist."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_names(dataset_dir: Path) -> list[str]:
    """Published version names in order (v1, v2, ...)."""
    if not dataset_dir.is_dir():
        return []
    found = [(int(m[1]), p.name) for p in dataset_dir.iterdir() if (m := VERSION_NAME.match(p.name)) and p.is_dir()]
    return [name for _, name in sorted(found)]


def latest_name(dataset_dir: Path) -> str | None:
    """The version `latest` names, or None before the first publish."""
    pointer = dataset_dir / LATEST
    return pointer.read_text().strip() if pointer.exists() else None


def resolved_version(dataset_dir: Path, name: str) -> str:
    """A version name from a user: vN, N, `latest` or `previous` (the parent of latest)."""
    if name == LATEST:
        found = latest_name(dataset_dir)
    elif name == "previous":
        latest = latest_name(dataset_dir)
        found = read_manifest(dataset_dir, latest).get("parent") if latest else None
    else:
        found = name if name.startswith("v") else f"v{name}"
    if not found or not (dataset_dir / found / MANIFEST).exists():
        raise VersionNotFound(f"no published version {name!r} in {dataset_dir}")
    return found


def read_manifest(dataset_dir: Path, name: str) -> dict:
    """A version's manifest as a dict."""
    return json.loads((dataset_dir / name / MANIFEST).read_text())


def read_tables(dataset_dir: Path, name: str) -> dict[str, pl.DataFrame]:
    """A published version's tables."""
    return {table: pl.read_parquet(dataset_dir / name / f"{table}.parquet") for table in PUBLISHED}


def scanned_table(dataset_dir: Path, name: str, table: str) -> pl.LazyFrame:
    """A published table, lazily: callers read only the columns they need."""
    return pl.scan_parquet(dataset_dir / name / f"{table}.parquet")


def parent_view(dataset_dir: Path, name: str) -> pl.DataFrame:
    """What a run needs of the parent's papers: ids and aliases, and the columns drift checks read.

    Texts are left out (at a million papers they are gigabytes); `abstract` is kept only as presence (true or
    null), which is all a null-share check reads.
    """
    papers = scanned_table(dataset_dir, name, "papers")
    view = papers.select("paper_id", "aliases", "language", "code_url").collect()
    # The abstracts' presence in a pass of its own, streamed: read along with the other columns, whole row
    # groups of abstracts were held (3.4 GB peak at 3M papers; 0.9 GB apart).
    present = papers.select(pl.when(pl.col("abstract").is_not_null()).then(pl.lit(True)).alias("abstract"))
    return view.hstack(present.collect(engine="streaming"))


def made_by(dataset_dir: Path, name: str, run_print: str, runs_dir: Path | None = None) -> bool:
    """True when version `name` holds what a run with this fingerprint (inputs, --year, code) gives: it was
    published by such a run, or such a run gave its content again (publish.remember_run)."""
    if read_manifest(dataset_dir, name).get("run_fingerprint") == run_print:
        return True
    remembered = runs_dir / run_print if runs_dir is not None else None
    return remembered is not None and remembered.is_file() and remembered.read_text().strip() == name


def unchanged_since(
    dataset_dir: Path, name: str, run_print: str, file_days: dict[str, str], runs_dir: Path | None = None
) -> bool:
    """True when version `name` was made (or made again, see remember_run) from these inputs with this code.

    Digests dated by their file time are also compared on that day (a touched file can change its date).
    """
    if not made_by(dataset_dir, name, run_print, runs_dir):
        return False
    manifest = read_manifest(dataset_dir, name)
    dated = {i["path"]: i["dated_by_file_time"] for i in manifest.get("inputs", []) if i.get("dated_by_file_time")}
    return all(file_days.get(path) == day for path, day in dated.items())


def next_version_name(dataset_dir: Path) -> str:
    """The name the next publish will take."""
    names = version_names(dataset_dir)
    return f"v{int(names[-1][1:]) + 1 if names else 1}"


def version_problems(dataset_dir: Path, name: str) -> list[str]:
    """What keeps a version directory from being complete and manifest-valid (empty: it is).

    Checks that the manifest parses and names this version, and that every file it lists (`files`, or only the
    table `outputs` for versions published before `files` existed) is there with its sha256. Files added after
    publishing (`papers validate` writes report-<time>/) are not the version's and are ignored.
    """
    path = dataset_dir / name
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return [f"no readable {MANIFEST} ({type(exc).__name__})"]
    if not isinstance(manifest, dict) or manifest.get("version") != name:
        return [f"{MANIFEST} does not describe {name}"]
    listed = manifest.get("files") or manifest.get("outputs") or []
    if not listed:
        return [f"{MANIFEST} lists no files"]
    problems = []
    for entry in listed:
        file = path / entry["file"]
        if not file.is_file():
            problems.append(f"{entry['file']} is missing")
        elif sha256_file(file) != entry["sha256"]:
            problems.append(f"{entry['file']} does not match its sha256")
    return problems


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` durably: written and fsynced under a temporary name, then renamed."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_tree(root: Path) -> None:
    """Flush every file, then every directory from the deepest up, so each entry is durable before its parent."""
    paths = sorted(root.rglob("*"))
    for path in paths:
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    for path in sorted((p for p in paths if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        fsync_dir(path)
    fsync_dir(root)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
