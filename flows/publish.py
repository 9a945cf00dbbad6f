"""Publish: candidate tables -> an immutable version directory, its manifest, and the `latest` pointer.

Write-audit-publish: tables are written into a hidden candidate directory next to the versions, compared with
`latest`, validated by the caller, then promoted with one atomic rename; `latest` is replaced atomically after
that. A crash at any point leaves `latest` naming a complete version, and the next run (`recovered`) finishes
or undoes what the crash left: an unnamed complete version is adopted, temporaries are removed. This module owns
the filesystem; it does not decide what is valid.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.tables import PUBLISHED, conform, empty

LATEST = "latest"
MANIFEST = "manifest.json"
REJECTED = "rejected"
_VERSION = re.compile(r"^v(\d+)$")
# Temporaries a run leaves only when it dies: hidden candidates and doomed versions (directories), half-written
# files of _write_atomic (`.latest.<hex>`), and extraction-cache entries being written (`.<key>.<pid>`).
_TEMP_DIRS = (".candidate-*", ".removing-*")
_ATOMIC_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}$")
_CACHE_TEMP = re.compile(r"^\.[0-9a-f]+\.(\d+)$")


class PublishBusy(Exception):
    """Another run holds the dataset's lock."""


class VersionNotFound(Exception):
    """A version name that does not exist."""


@dataclass(frozen=True)
class Candidate:
    """Tables written to a hidden directory, not yet visible to readers."""

    path: Path
    outputs: dict[str, dict]  # file name -> {sha256, bytes, rows}

    def tables(self) -> dict[str, pl.LazyFrame]:
        """The candidate's tables, lazily: checks and the card read only the columns they need."""
        return {name: pl.scan_parquet(self.path / f"{name}.parquet") for name in PUBLISHED}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def dataset_lock(dataset_dir: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold the dataset's exclusive lock; wait up to timeout_s for another run, then refuse with PublishBusy."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    lock_path = dataset_dir / ".lock"
    with lock_path.open("a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise PublishBusy(
                        f"another papers run is publishing to {dataset_dir} (lock held by {holder}); "
                        "try again when it finishes"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def version_names(dataset_dir: Path) -> list[str]:
    """Published version names in order (v1, v2, ...)."""
    if not dataset_dir.is_dir():
        return []
    found = [(int(m[1]), p.name) for p in dataset_dir.iterdir() if (m := _VERSION.match(p.name)) and p.is_dir()]
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
    return (
        scanned_table(dataset_dir, name, "papers")
        .select("paper_id", "aliases", "language", "code_url",
                pl.when(pl.col("abstract").is_not_null()).then(pl.lit(True)).alias("abstract"))
        .collect()
    )


def unchanged_since(
    dataset_dir: Path, name: str, run_print: str, file_days: dict[str, str], runs_dir: Path | None = None
) -> bool:
    """True when version `name` was made (or made again, see remember_run) from these inputs with this code.

    Digests dated by their file time are also compared on that day (a touched file can change its date).
    """
    manifest = read_manifest(dataset_dir, name)
    remembered = runs_dir is not None and (runs_dir / run_print).is_file() and (
        (runs_dir / run_print).read_text().strip() == name
    )
    if manifest.get("run_fingerprint") != run_print and not remembered:
        return False
    dated = {i["path"]: i["dated_by_file_time"] for i in manifest.get("inputs", []) if i.get("dated_by_file_time")}
    return all(file_days.get(path) == day for path, day in dated.items())


def remember_run(runs_dir: Path, run_print: str, name: str) -> None:
    """Note that a run with this fingerprint gave version `name`'s content again (after a code change that
    changed nothing), so the next such run can say "unchanged" without running the pipeline."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(runs_dir / run_print, name + "\n")


def next_version_name(dataset_dir: Path) -> str:
    """The name the next publish will take."""
    names = version_names(dataset_dir)
    return f"v{int(names[-1][1:]) + 1 if names else 1}"


def new_candidate(dataset_dir: Path) -> Candidate:
    """A new hidden directory beside the versions for a candidate's files."""
    path = dataset_dir / f".candidate-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return Candidate(path, {})


def write_table(
    candidate: Candidate, name: str, frames: Iterable[pl.DataFrame], schema: pa.Schema, row_group_size: int
) -> None:
    """Write frames, in order, as one Parquet table of the candidate, holding at most a row group at a time.

    Row groups are cut every `row_group_size` rows whatever the frames' sizes, and each is written from one
    contiguous buffer: the same rows give the same bytes, however they arrived.
    """
    target = candidate.path / f"{name}.parquet"
    rows, pending, pending_rows = 0, [], 0
    with pq.ParquetWriter(target, schema, compression="zstd", write_statistics=True, store_schema=True) as writer:

        def flush(frames: list[pl.DataFrame]) -> None:
            table = conform(pl.concat(frames, rechunk=True), schema).combine_chunks()
            writer.write_table(table, row_group_size=row_group_size)

        for frame in frames:
            pending.append(frame)
            pending_rows += frame.height
            while pending_rows >= row_group_size:
                whole = pl.concat(pending, rechunk=False)
                flush([whole.head(row_group_size)])
                rows += row_group_size
                rest = whole.slice(row_group_size)
                pending, pending_rows = [rest], rest.height
        if pending_rows or not rows:
            flush(pending or [empty(schema)])
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


def set_aside(dataset_dir: Path, candidate: Candidate, label: str) -> Path:
    """Keep a blocked candidate (with its report) under rejected/ for the reviewer; it is never read as data."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = dataset_dir / REJECTED / f"{stamp}-{label}"
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate.path.rename(target)
    return target


def promoted(dataset_dir: Path, candidate: Candidate, name: str, manifest: dict) -> Path:
    """Make the candidate version `name`: manifest in, one atomic rename, then `latest` replaced atomically.

    The manifest gains `files`: the sha256 and size of every file of the version (tables, card, report, plots)
    except the manifest itself, so a whole version can be verified (see version_problems).
    """
    manifest = {**manifest, "files": _file_entries(candidate)}
    _write_atomic(candidate.path / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    _fsync_tree(candidate.path)
    target = dataset_dir / name
    os.rename(candidate.path, target)  # fails rather than overwrite: a published version is never rewritten
    _fsync_dir(dataset_dir)
    _write_atomic(dataset_dir / LATEST, name + "\n")
    return target


def _file_entries(candidate: Candidate) -> list[dict]:
    """sha256 and bytes of every file under the candidate but the manifest; staged tables are not hashed twice."""
    entries = []
    for path in sorted(p for p in candidate.path.rglob("*") if p.is_file()):
        rel = path.relative_to(candidate.path).as_posix()
        if rel == MANIFEST or _ATOMIC_TEMP.match(path.name):
            continue
        staged = candidate.outputs.get(rel)
        digest = staged["sha256"] if staged else sha256_file(path)
        entries.append({"file": rel, "sha256": digest, "bytes": path.stat().st_size})
    return entries


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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(root: Path) -> None:
    """Flush every file, then every directory from the deepest up, so each entry is durable before its parent."""
    paths = sorted(root.rglob("*"))
    for path in paths:
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    for path in sorted((p for p in paths if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _fsync_dir(path)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def cleared_stale_candidates(dataset_dir: Path) -> list[Path]:
    """Remove candidates left by runs that crashed (only called while holding the lock)."""
    stale = [p for pattern in _TEMP_DIRS for p in dataset_dir.glob(pattern) if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


# ---------------------------------------------------------------------------------------------- recovery


def recovered(dataset_dir: Path, cache_dir: Path | None = None) -> list[str]:
    """Finish or undo what an interrupted run left, and say what was done (call while holding the lock).

    Removes every temporary (see removed_stale_temporaries), then deals with an orphan version (orphan_outcome).
    Returns one sentence per action, for the run's log; empty when there was nothing to do.
    """
    notes = []
    stale = removed_stale_temporaries(dataset_dir, cache_dir)
    if stale:
        shown = ", ".join(sorted(p.name for p in stale)[:5]) + (", ..." if len(stale) > 5 else "")
        notes.append(f"removed {len(stale)} temporary file(s) left by an interrupted run: {shown}")
    if outcome := orphan_outcome(dataset_dir):
        notes.append(outcome)
    return notes


def removed_stale_temporaries(dataset_dir: Path, cache_dir: Path | None = None) -> list[Path]:
    """Remove what runs that died left behind; call while holding the dataset's lock.

    In the dataset directory: hidden candidates, half-removed versions and half-written `latest` files (the lock
    guarantees no live run owns them). In the per-file cache (`cache_dir/files`): entries still being written
    under a temporary name `.<key>.<pid>` whose process is gone (a live process may be another run's worker).
    """
    stale = [p for pattern in _TEMP_DIRS for p in dataset_dir.glob(pattern) if p.is_dir()]
    if dataset_dir.is_dir():
        stale += [p for p in dataset_dir.iterdir() if p.is_file() and _ATOMIC_TEMP.match(p.name)]
    extract_cache = cache_dir / "files" if cache_dir else None
    if extract_cache and extract_cache.is_dir():
        stale += [
            p for p in extract_cache.iterdir()
            if (m := _CACHE_TEMP.match(p.name)) and p.is_dir() and not _process_alive(int(m[1]))
        ]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if stale:
        _fsync_dir(dataset_dir)
    return stale


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own earlier attempt in this process: nothing of this run is writing yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def orphan_outcome(dataset_dir: Path) -> str | None:
    """Adopt or set aside a version that a run promoted but could not name in `latest`; say which, or None.

    A run that dies between the rename of its candidate to vN and the replacement of `latest` leaves vN whole
    but unnamed, and the next run would publish the same content again as vN+1. The orphan is the newest
    version above `latest` whose manifest names `latest` as its parent (a version whose parent differs was
    left above `latest` on purpose, by rolling `latest` back, and is not touched). If it verifies
    (version_problems) `latest` is moved to it; otherwise it is moved under rejected/ for a human to look at.
    """
    names = version_names(dataset_dir)
    latest = latest_name(dataset_dir)
    floor = int(latest[1:]) if latest and _VERSION.match(latest) else 0
    newer = [n for n in names if int(n[1:]) > floor]
    if not newer:
        return None
    orphan = newer[-1]
    try:
        parent = json.loads((dataset_dir / orphan / MANIFEST).read_text()).get("parent", latest)
    except (OSError, ValueError, AttributeError):
        parent = latest  # no readable manifest: it cannot have been left on purpose
    if parent != latest:
        return None
    problems = version_problems(dataset_dir, orphan)
    if not problems:
        _write_atomic(dataset_dir / LATEST, orphan + "\n")
        return (
            f"adopted {orphan}: an interrupted run published it completely but did not update latest "
            f"(latest was {latest or 'unset'}; every file matches its manifest)"
        )
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = dataset_dir / REJECTED / f"{stamp}-{orphan}-incomplete"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(dataset_dir / orphan, target)
    _fsync_dir(dataset_dir)
    return f"set aside {orphan} to {target} (it is not a complete version: {'; '.join(problems[:3])})"
