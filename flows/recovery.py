"""Safety of the dataset directory between runs: the lock that serialises publishing, and recovery after a crash.

A run holds the dataset's lock from its first read of `latest` to its last write. A run that dies leaves at most
hidden temporaries and, in one narrow window, a complete version that `latest` does not name yet; the next run
(`recovered`) removes the first and adopts or sets aside the second, and says what it did.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.store import (
    ATOMIC_TEMP,
    LATEST,
    MANIFEST,
    REJECTED,
    VERSION_NAME,
    fsync_dir,
    latest_name,
    version_names,
    version_problems,
    write_atomic,
)

# Temporaries a run leaves only when it dies: hidden candidates and doomed versions (directories), and
# per-file cache entries being written (`.<key>.<pid>`, flows/prepare.py).
TEMP_DIRS = (".candidate-*", ".removing-*")
_CACHE_TEMP = re.compile(r"^\.[0-9a-f]+\.(\d+)$")


class PublishBusy(Exception):
    """Another run holds the dataset's lock."""


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


def cleared_stale_candidates(dataset_dir: Path) -> list[Path]:
    """Remove candidates left by runs that crashed (only called while holding the lock)."""
    stale = [p for pattern in TEMP_DIRS for p in dataset_dir.glob(pattern) if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


@contextmanager
def locked(dataset_dir: Path, cache_dir: Path, timeout_s: float = 0.0) -> Iterator[list[str]]:
    """Hold the dataset's lock, after finishing or undoing what an interrupted run left; yields what was done."""
    with dataset_lock(dataset_dir, timeout_s):
        yield recovered(dataset_dir, cache_dir)


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
    stale = [p for pattern in TEMP_DIRS for p in dataset_dir.glob(pattern) if p.is_dir()]
    if dataset_dir.is_dir():
        stale += [p for p in dataset_dir.iterdir() if p.is_file() and ATOMIC_TEMP.match(p.name)]
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
        fsync_dir(dataset_dir)
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
    floor = int(latest[1:]) if latest and VERSION_NAME.match(latest) else 0
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
        write_atomic(dataset_dir / LATEST, orphan + "\n")
        return (
            f"adopted {orphan}: an interrupted run published it completely but did not update latest "
            f"(latest was {latest or 'unset'}; every file matches its manifest)"
        )
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = dataset_dir / REJECTED / f"{stamp}-{orphan}-incomplete"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(dataset_dir / orphan, target)
    fsync_dir(dataset_dir)
    return f"set aside {orphan} to {target} (it is not a complete version: {'; '.join(problems[:3])})"
