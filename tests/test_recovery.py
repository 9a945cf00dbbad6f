"""Recovery: a run killed at any filesystem step of a publish leaves a state the next run completes (issue 9).

The kill is real (os._exit in a child process, so no `finally` or context manager runs) and placed by counting
filesystem calls, not by timing: every step of the publish sequence is killed once. Children are forked from a
forkserver that has already imported Polars and PyArrow, so each costs milliseconds.
"""

from __future__ import annotations

import builtins
import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import staged_candidate

from flows import publish, recovery, store

KILLED = 77


def _tables(n: int) -> dict[str, pa.Table]:
    return {
        "papers": pa.table({"paper_id": [f"title:{i:016x}" for i in range(n)]}),
        "links": pa.table({"paper_id": [f"title:{i:016x}" for i in range(n)], "url": ["https://x.org"] * n}),
    }


def _publish_run(dataset_dir: Path, cache_dir: Path, n: int) -> tuple[str, list[str]]:
    """What a pipeline run does to the filesystem: recover, stage, compare, write card and report, promote."""
    notes = recovery.recovered(dataset_dir, cache_dir)
    candidate = staged_candidate(dataset_dir, _tables(n), row_group_size=1000)
    if publish.same_as_latest(dataset_dir, candidate):
        publish.discard(candidate)
        return "unchanged", notes
    name = store.next_version_name(dataset_dir)
    (candidate.path / "report").mkdir()
    (candidate.path / "report" / "index.html").write_text(f"<p>report of {name}</p>")
    (candidate.path / "plots").mkdir()
    (candidate.path / "plots" / "languages.svg").write_text("<svg/>")
    (candidate.path / "README.md").write_text(f"# {name}\n")
    latest = store.latest_name(dataset_dir)
    outputs = [{"file": f, **o} for f, o in candidate.outputs.items()]
    publish.promoted(dataset_dir, candidate, name, {"version": name, "parent": latest, "outputs": outputs})
    return name, notes


class _Steps:
    """Counts filesystem calls and kills the process just before call number `kill_at` (never when None)."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at, self.count = kill_at, 0

    def wrap(self, fn, writes_only: bool = False):
        def step(*args, **kwargs):
            mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
            if not writes_only or any(c in str(mode) for c in "wax+"):
                self.count += 1
                if self.count == self.kill_at:
                    os._exit(KILLED)
            return fn(*args, **kwargs)

        return step


def _child(dataset_dir: str, cache_dir: str, n: int, kill_at: int | None, counts) -> None:
    """Publish (n > 0) or prune to the newest version (n == 0), killed before filesystem call `kill_at`."""
    steps = _Steps(kill_at)
    for module, attr in [
        (os, "mkdir"),
        (os, "rename"),
        (os, "replace"),
        (os, "fsync"),
        (os, "unlink"),
        (os, "rmdir"),
        (pq, "write_table"),
    ]:
        setattr(module, attr, steps.wrap(getattr(module, attr)))
    builtins.open = steps.wrap(builtins.open, writes_only=True)
    import io

    io.open = builtins.open  # pathlib opens through io.open
    if n:
        _publish_run(Path(dataset_dir), Path(cache_dir), n)
    else:
        publish.pruned_versions(Path(dataset_dir), keep=1)
    counts.put(steps.count)


@pytest.fixture(scope="module")
def forkserver():
    ctx = mp.get_context("forkserver")
    # pyarrow imports pandas the first time it builds a table: preloading it saves ~0.4 s per child.
    ctx.set_forkserver_preload(["pandas", "polars", "pyarrow.parquet", "flows.publish", "pytest", __name__])
    return ctx


def _run_child(
    ctx, dataset_dir: Path, cache_dir: Path, n: int, kill_at: int | None
) -> tuple[int, int | None]:
    counts = ctx.Queue()
    proc = ctx.Process(target=_child, args=(str(dataset_dir), str(cache_dir), n, kill_at, counts))
    proc.start()
    proc.join(60)
    return proc.exitcode, (counts.get(timeout=5) if proc.exitcode == 0 else None)


def _temporaries(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*") if p.name != ".lock")


def test_a_kill_at_every_filesystem_step_of_a_publish_is_recovered(tmp_path, forkserver):
    template = tmp_path / "template"
    _publish_run(template / "papers", template / ".cache", 3)  # v1 with 3 papers
    shutil.copytree(template, tmp_path / "dry")
    exitcode, total = _run_child(
        forkserver, tmp_path / "dry" / "papers", tmp_path / "dry" / ".cache", 5, None
    )
    assert exitcode == 0 and total > 20, "the publish sequence should have many filesystem steps"

    outcomes = {}
    for step in range(1, total + 1):
        root = tmp_path / f"kill-{step:02d}"
        shutil.copytree(template, root)
        ds = root / "papers"
        exitcode, _ = _run_child(forkserver, ds, root / ".cache", 5, step)
        assert exitcode == KILLED, f"step {step} was not reached"

        # Whatever the step, readers following `latest` see a complete version.
        assert store.version_problems(ds, store.latest_name(ds)) == [], step

        # The next run finishes the job: one new version with the new content, nothing left over.
        with recovery.dataset_lock(ds):
            result, notes = _publish_run(ds, root / ".cache", 5)
        assert store.version_names(ds) == ["v1", "v2"], (step, result, notes)
        assert store.latest_name(ds) == "v2"
        assert store.version_problems(ds, "v2") == []
        assert pq.read_table(ds / "v2" / "papers.parquet").num_rows == 5
        assert _temporaries(root) == [], step
        outcomes[step] = result if not any(n.startswith("adopted") for n in notes) else "adopted"

    # Killed before the rename: republished; after it but before `latest`: adopted; after `latest`: unchanged.
    kinds = list(outcomes.values())
    assert set(kinds) == {"v2", "adopted", "unchanged"}, outcomes
    assert kinds == sorted(kinds, key=["v2", "adopted", "unchanged"].index), outcomes


def test_a_kill_at_every_step_of_pruning_is_recovered(tmp_path, forkserver):
    template = tmp_path / "template"
    for n in (1, 2, 3):
        _publish_run(template / "papers", template / ".cache", n)
    shutil.copytree(template, tmp_path / "dry")
    exitcode, total = _run_child(
        forkserver, tmp_path / "dry" / "papers", tmp_path / "dry" / ".cache", 0, None
    )
    assert exitcode == 0 and total >= 6 and store.version_names(tmp_path / "dry" / "papers") == ["v3"]
    for step in range(1, total + 1):
        root = tmp_path / f"kill-{step:02d}"
        shutil.copytree(template, root)
        ds = root / "papers"
        assert _run_child(forkserver, ds, root / ".cache", 0, step)[0] == KILLED
        # Every version still listed is whole, and latest was never touched.
        assert all(store.version_problems(ds, name) == [] for name in store.version_names(ds)), step
        assert store.latest_name(ds) == "v3"
        with recovery.dataset_lock(ds):
            recovery.recovered(ds, root / ".cache")
        assert _temporaries(root) == [], step


def test_manifest_covers_every_file_and_catches_a_changed_one(tmp_path):
    ds = tmp_path / "papers"
    _publish_run(ds, tmp_path / ".cache", 3)
    manifest = json.loads((ds / "v1" / "manifest.json").read_text())
    assert sorted(f["file"] for f in manifest["files"]) == [
        "README.md",
        "links.parquet",
        "papers.parquet",
        "plots/languages.svg",
        "report/index.html",
    ]
    assert store.version_problems(ds, "v1") == []
    (ds / "v1" / "report" / "index.html").write_text("tampered")
    assert store.version_problems(ds, "v1") == ["report/index.html does not match its sha256"]
    (ds / "v1" / "report-20260101T000000Z").mkdir()  # `papers validate` adds reports later: not the version's
    (ds / "v1" / "README.md").unlink()
    assert store.version_problems(ds, "v1") == [
        "README.md is missing",
        "report/index.html does not match its sha256",
    ]


def test_an_incomplete_orphan_is_set_aside_and_a_rolled_back_latest_is_respected(tmp_path):
    ds = tmp_path / "papers"
    for n in (1, 2, 3):
        _publish_run(ds, tmp_path / ".cache", n)
    # A rollback: latest names v1 on purpose; v3's parent is v2, so v2 and v3 are left alone.
    (ds / "latest").write_text("v1\n")
    assert recovery.orphan_outcome(ds) is None and store.latest_name(ds) == "v1"
    # An orphan whose files do not match its manifest is moved out of the way, not adopted.
    (ds / "latest").write_text("v2\n")
    (ds / "v3" / "papers.parquet").write_bytes(b"not parquet")
    note = recovery.orphan_outcome(ds)
    assert note.startswith("set aside v3 to ") and "papers.parquet does not match its sha256" in note
    assert store.version_names(ds) == ["v1", "v2"] and store.latest_name(ds) == "v2"
    assert len(list((ds / "rejected").iterdir())) == 1


def test_stale_temporaries_of_dead_runs_are_swept_and_live_ones_kept(tmp_path):
    ds, cache = tmp_path / "papers", tmp_path / ".cache"
    _publish_run(ds, cache, 2)
    dead = mp.get_context("spawn").Process(target=int)
    dead.start()
    dead.join()
    extract = cache / "files"
    (extract / f".{'a' * 32}.{dead.pid}").mkdir(parents=True)
    (extract / f".{'b' * 32}.{os.getppid()}").mkdir()  # a live process may still be writing it
    (extract / ("c" * 32)).mkdir()  # a finished cache entry
    (ds / ".latest.0badc0de").write_text("v9\n")
    (ds / ".candidate-0123456789ab").mkdir()
    removed = recovery.removed_stale_temporaries(ds, cache)
    assert sorted(p.name for p in removed) == sorted(
        [f".{'a' * 32}.{dead.pid}", ".latest.0badc0de", ".candidate-0123456789ab"]
    )
    assert sorted(p.name for p in extract.iterdir()) == sorted([f".{'b' * 32}.{os.getppid()}", "c" * 32])
    assert store.latest_name(ds) == "v1"
