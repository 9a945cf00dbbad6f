"""The command line: every failure is one line and an exit code of its own; runs at once do not trip on Prefect.

The fast tests replace the flow with a stand-in that fails the way the real one can; the slow ones run real
`papers run` processes side by side.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from conftest import SEED, staged_candidate
from typer.testing import CliRunner

from flows import failures, pipeline, prefect_api, publish, recovery, store
from flows.cli import ExitCode, app
from flows.diff import Removals, RemovalsRefused
from flows.failures import io_failure


@pytest.fixture
def dirs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / SEED.name).write_bytes(SEED.read_bytes())
    return raw, tmp_path / "out"


@pytest.fixture
def flow(monkeypatch):
    """Replace the flow (and the start of Prefect's API) with a stand-in; returns the calls it received."""
    calls = []

    def install(behaviour):
        def fake(**kwargs):
            calls.append(kwargs)
            return behaviour(**kwargs)

        monkeypatch.setattr(pipeline, "papers_run", fake)
        return calls

    monkeypatch.setattr(prefect_api.TemporaryAPI, "launch", lambda self: None)
    return install


def _run(raw, out, *extra):
    return CliRunner().invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(out), *extra])


def _raises(exc):
    def behaviour(**kwargs):
        raise exc

    return behaviour


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "cannot write {out}: no space left on device"),
        (
            pl.exceptions.ComputeError("parquet: underlying IO error: No space left on device (os error 28)"),
            "cannot write {out}: no space left on device",
        ),
        (
            OSError(
                "Failed to open local file '/x/papers/.candidate-1/papers.parquet'. Detail: [errno 30] "
                "Read-only file system"
            ),
            "cannot write /x/papers/.candidate-1/papers.parquet: read-only file system",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/x/papers/v2"),
            "cannot write /x/papers/v2: permission",
        ),
    ],
)
def test_output_errors_are_one_line_with_their_own_exit_code(dirs, flow, exc, expected):
    raw, out = dirs
    flow(_raises(exc))
    result = _run(raw, out)
    assert result.exit_code == ExitCode.OUTPUT_ERROR == 4, result.output
    assert expected.format(out=out) in " ".join(result.output.split())
    assert "nothing was published" in result.output and "Traceback" not in result.output


def test_an_unreadable_input_is_an_input_error(dirs, flow):
    raw, out = dirs
    flow(_raises(PermissionError(errno.EACCES, "Permission denied", str(raw / "sub"))))
    result = _run(raw, out)
    assert result.exit_code == ExitCode.UNUSABLE_INPUT
    assert f"cannot read input {raw / 'sub'}: permission denied" in result.output


def test_missing_raw_dir_is_named_without_starting_anything(tmp_path, flow):
    calls = flow(_raises(AssertionError("the flow must not start")))
    result = _run(tmp_path / "nope", tmp_path / "out")
    assert result.exit_code == ExitCode.UNUSABLE_INPUT and calls == []
    assert f"raw directory {tmp_path / 'nope'} does not exist" in result.output


def test_read_only_output_fails_before_prefect_starts(dirs, flow, monkeypatch):
    raw, out = dirs
    calls = flow(_raises(AssertionError("the flow must not start")))

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    result = _run(raw, out)
    assert result.exit_code == ExitCode.OUTPUT_ERROR and calls == []
    assert f"cannot write {out / 'papers'}: read-only file system" in result.output


def test_a_held_lock_exits_2_at_once(dirs, flow):
    raw, out = dirs
    calls = flow(_raises(AssertionError("the flow must not start")))
    import multiprocessing as mp

    from test_publish import _hold_lock

    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(out / "papers", ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        result = _run(raw, out)
    finally:
        release.set()
        holder.join(10)
    assert result.exit_code == ExitCode.UNUSABLE_INPUT and calls == []
    assert "another papers run is publishing" in result.output


def test_refused_removals_exit_3_and_the_flag_reaches_the_flow(dirs, flow):
    raw, out = dirs
    removal = Removals(
        "v3",
        [{"paper_id": "arxiv:1", "title": "Gone", "inputs": ["a.txt"]}],
        [{"path": "a.txt", "change": "removed", "papers": 1}],
    )
    calls = flow(_raises(RemovalsRefused(removal)))
    result = _run(raw, out)
    assert result.exit_code == ExitCode.REMOVALS_REFUSED == 3
    assert "would remove 1 paper(s) published in v3" in " ".join(result.output.split())
    assert calls[0]["allow_removals"] is False
    _run(raw, out, "--allow-removals")
    assert calls[1]["allow_removals"] is True


def test_an_unexpected_error_is_not_mistaken_for_validation(dirs, flow):
    raw, out = dirs
    flow(_raises(RuntimeError("something odd")))
    result = _run(raw, out)
    assert result.exit_code == ExitCode.INTERNAL_ERROR == 5
    assert "RuntimeError: something odd (unexpected; the traceback is above)" in result.output


def _publishing_then_failing(**kwargs):
    dataset_dir = Path(kwargs["out_dir"]) / "papers"
    with recovery.dataset_lock(dataset_dir):
        candidate = staged_candidate(dataset_dir, {"papers": pa.table({"paper_id": ["a"]})}, 100)
        outputs = [{"file": f, **o} for f, o in candidate.outputs.items()]
        publish.promoted(dataset_dir, candidate, "v1", {"version": "v1", "parent": None, "outputs": outputs})
    raise ConnectionError("[Errno 111] Connection refused (the temporary API went away)")


def test_a_run_that_published_exits_0_even_if_prefect_fails_afterwards(dirs, flow):
    raw, out = dirs
    flow(_publishing_then_failing)
    result = _run(raw, out)
    assert result.exit_code == 0, result.output
    assert "published v1" in result.output and "after publishing, the run failed" in result.output


def test_io_failure_reads_errno_and_path_from_chained_and_textual_errors():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/d/f")
        except OSError as inner:
            raise RuntimeError("task failed") from inner
    except RuntimeError as outer:
        assert io_failure(outer) == (errno.ENOSPC, "/d/f")
    assert io_failure(OSError("Read-only file system (os error 30): /d/x.parquet")) == (
        errno.EROFS,
        "/d/x.parquet",
    )
    assert io_failure(ValueError("not I/O")) is None


def test_diff_reports_changed_appearances(tmp_path):
    ds = tmp_path / "out" / "papers"
    papers = pa.table({"paper_id": ["a"], "title": ["A"], "aliases": pa.array([[]], pa.list_(pa.string()))})

    def appearances(day: str) -> pa.Table:
        return pa.table(
            {
                "paper_id": ["a"],
                "digest_date": pa.array([day], pa.string()).cast(pa.date32()),
                "digest_date_source": ["header+file_mtime"],
                "source_format": ["hf_papers_text"],
                "source_path": ["x.txt"],
                "section": pa.array([None], pa.string()),
            }
        )

    for name, day in (("v1", "2025-03-13"), ("v2", "2024-03-13")):
        candidate = staged_candidate(ds, {"papers": papers, "appearances": appearances(day)}, 100)
        outputs = [{"file": f, **o} for f, o in candidate.outputs.items()]
        publish.promoted(ds, candidate, name, {"version": name, "parent": None, "outputs": outputs})
    result = CliRunner().invoke(app, ["diff", "v1", "v2", "--out-dir", str(tmp_path / "out"), "--json"])
    data = json.loads(result.output)
    assert data["summary"]["changed"] == 1 and data["changed"] == [
        {"paper_id": "a", "fields": ["digest_dates"]}
    ]


# ---------------------------------------------------------------------------------------------- real runs


def _papers(args: list[str]) -> subprocess.Popen:
    """The real CLI in a real process, with Prefect's temporary API (no server configured)."""
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    command = [str(Path(sys.executable).with_name("papers")), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_command_exits_with_its_code_and_says_everything_before_it_leaves(tmp_path):
    # `papers` skips the interpreter's teardown (cli.main): what it prints and the exit code must survive that.
    missing = _papers(["run", "--raw-dir", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "out")])
    output = missing.communicate(timeout=120)[0]
    assert missing.returncode == ExitCode.UNUSABLE_INPUT
    assert f"raw directory {tmp_path / 'nowhere'} does not exist" in output
    listing = _papers(["versions", "--out-dir", str(tmp_path / "out")])
    assert "no published versions in" in listing.communicate(timeout=120)[0] and listing.returncode == 1
    usage = _papers(["run", "--no-such-option"])
    assert "No such option" in usage.communicate(timeout=120)[0] and usage.returncode == 2


@pytest.mark.slow
def test_two_runs_at_once_each_get_their_own_temporary_api(dirs, tmp_path):
    raw, _ = dirs
    procs = [
        _papers(["run", "--raw-dir", str(raw), "--out-dir", str(tmp_path / f"out{i}"), "--year", "2025"])
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-3000:]
        assert "published v1" in output
        assert "Error logging to API" not in output  # logs were sent before the API stopped
    for i in range(2):
        assert store.latest_name(tmp_path / f"out{i}" / "papers") == "v1"


@pytest.mark.slow
def test_the_temporary_api_answers_and_stops(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    api = prefect_api.TemporaryAPI()
    api.launch()
    process = api.process
    try:
        with api.settings():
            from prefect.settings import PREFECT_API_URL

            assert PREFECT_API_URL.value() == api.url
            import httpx

            assert httpx.get(f"{api.url}/health", timeout=5).json() is True
    finally:
        api.stop()
    assert process.poll() is not None
    assert api.process is None


@pytest.mark.slow
def test_two_runs_at_once_on_one_dataset_publish_once(dirs):
    raw, out = dirs
    args = ["run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025", "--wait", "600"]
    procs = [_papers(args) for _ in range(2)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[-3000:] for o in outputs]
    assert sorted("published v1" in o for o in outputs) == [False, True]
    assert sum("unchanged" in o for o in outputs) == 1
    assert store.version_names(out / "papers") == ["v1"]


def test_the_temporary_api_dies_with_a_killed_run(tmp_path):
    # A run killed with SIGKILL runs no `finally`: the kernel must stop its API server anyway.
    script = (
        "import sys; from flows import prefect_api; api = prefect_api.TemporaryAPI(); api.launch(); "
        "print(api.process.pid, flush=True); sys.stdin.read()"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.Popen([sys.executable, "-c", script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, cwd=Path(__file__).resolve().parents[1])
    server = int(run.stdout.readline())
    os.kill(run.pid, 9)
    run.wait(timeout=10)
    for _ in range(100):
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{server}/stat") as stat:  # a zombie waiting for init to reap it is gone too
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.1)
    else:
        os.kill(server, 9)
        raise AssertionError(f"the API server {server} outlived its killed run")


_DISK_FULL_RUN = """
import errno, sys
from flows import publish
write_table = publish.write_table
def full(candidate, name, frames, schema, row_group_size):
    if name == "links":  # the disk fills up half-way through writing the candidate
        raise OSError(errno.ENOSPC, "No space left on device", str(candidate.path / "links.parquet"))
    return write_table(candidate, name, frames, schema, row_group_size)
publish.write_table = full
from flows.cli import app
app(["run", "--raw-dir", sys.argv[1], "--out-dir", sys.argv[2]])
"""


@pytest.mark.slow
def test_a_disk_full_mid_run_is_one_line_without_prefects_tracebacks(dirs, tmp_path):
    """The real flow, the disk filling up while the candidate is written: Prefect logged the failed task and
    flow with their tracebacks above our line; now the terminal shows only the progress lines and ours."""
    raw, out = dirs
    script = tmp_path / "disk_full_run.py"
    script.write_text(_DISK_FULL_RUN)
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, str(script), str(raw), str(out)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).parents[1], check=False)
    assert done.returncode == ExitCode.OUTPUT_ERROR, done.stderr
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    candidate = error.split("/papers/")[1].split("/")[0]
    assert error == (
        f"error: cannot write {out}/papers/{candidate}/links.parquet: no space left on device (nothing was "
        "published; free some space or choose another --out-dir)"
    )
    assert "prepared 1 files" in done.stderr  # progress is still shown
    assert store.latest_name(out / "papers") is None


def test_the_run_failure_filter_keeps_progress_and_drops_failure_reports():
    import logging

    def record(name: str, level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, message, None, None)

    keep = failures.RunFailureFilter().filter
    assert keep(record("prefect.flow_runs", logging.INFO, "prepared 1 files"))
    assert keep(record("prefect.task_runs", logging.INFO, "Finished in state Completed()"))
    assert keep(record("prefect", logging.INFO, "Starting temporary server"))
    assert keep(record("flows.validate", logging.WARNING, "GX Data Docs could not be built"))
    assert not keep(record("prefect.task_runs", logging.ERROR, "Task run failed with exception: OSError(28)"))
    assert not keep(record("prefect.flow_runs", logging.INFO, "Finished in state Failed('...')"))
    assert not keep(record("great_expectations.data_context", logging.ERROR, "could not write"))
