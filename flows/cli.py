"""The `papers` command line: run, versions, diff, validate, serve.

Thin: parses flags into Settings, calls the flow or the publish helpers, prints results and maps every failure
to one line and an exit code (ExitCode). Telemetry of Prefect and Great Expectations is switched off here,
before either is imported (the machine has no internet).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_key, _value)

from flows.settings import Settings  # noqa: E402

_STARTED = time.perf_counter()  # for --timings: the seconds spent before and around the flow

app = typer.Typer(help="Raw paper digests -> cleaned, validated, versioned Parquet.", no_args_is_help=True)
console = Console(width=160 if not os.isatty(1) else None)
err = Console(stderr=True)

RawDir = Annotated[Path | None, typer.Option("--raw-dir", help="input dumps [default: data/raw]")]
OutDir = Annotated[Path | None, typer.Option("--out-dir", help="output root [default: data/processed]")]


class ExitCode(IntEnum):
    """What `papers run` exits with (documented in the README)."""

    OK = 0  # published, or unchanged
    BLOCKED = 1  # validation blocked the candidate, or a schema change was refused; nothing published
    UNUSABLE_INPUT = 2  # raw dir missing, unreadable or holding nothing usable; or another run holds the lock
    REMOVALS_REFUSED = 3  # the run would remove published papers; nothing published (--allow-removals)
    OUTPUT_ERROR = 4  # the output could not be written: disk full, read-only, permission denied
    INTERNAL_ERROR = 5  # anything else (a bug, or Prefect's temporary API failed); the traceback is printed


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(code: ExitCode, label: str, message: str) -> typer.Exit:
    err.print(f"[red]{label}:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(int(code))


@app.command()
def run(
    raw_dir: RawDir = None,
    out_dir: OutDir = None,
    year: Annotated[int | None, typer.Option(help="year for digests whose header has none")] = None,
    wait: Annotated[float | None, typer.Option(help="seconds to wait if another run holds the lock")] = None,
    allow_schema_change: Annotated[
        bool, typer.Option(help="publish even if a column was removed or retyped since the parent")
    ] = False,
    allow_removals: Annotated[
        bool, typer.Option(help="publish even if papers of the parent version would be removed")
    ] = False,
    block_on: Annotated[
        list[str] | None,
        typer.Option(help="make a warning check blocking for this run, e.g. row_count_drop_vs_parent"),
    ] = None,
    timings: Annotated[
        Path | None, typer.Option(help="write each stage's seconds and peak memory to this JSON file")
    ] = None,
) -> None:
    """Extract, clean, validate and publish one version (or report that nothing changed)."""
    from flows import publish
    from flows.prefect_api import TemporaryAPI

    s = _settings(raw_dir=raw_dir, out_dir=out_dir, year=year, lock_timeout_s=wait,
                  allow_schema_change=allow_schema_change or None,
                  blocking_warnings=frozenset(block_on) if block_on else None)
    if not s.raw_dir.is_dir():
        missing = f"raw directory {s.raw_dir} does not exist (nothing to read)"
        raise _fail(ExitCode.UNUSABLE_INPUT, "error", missing)
    if unchanged := _unchanged_without_flow(s):
        console.print(unchanged, highlight=False)
        if timings is not None:
            timings.write_text(json.dumps({"status": "unchanged", "decided_without_flow": True}, indent=2))
        return
    api = TemporaryAPI()
    before = publish.latest_name(s.dataset_dir)
    try:
        # Fail in a second, not after Prefect's API has started.
        _output_usable(s.dataset_dir, probe_lock=s.lock_timeout_s <= 0)
        api.launch()  # Prefect's API boots in its own process while this one imports the pipeline
        from flows.pipeline import papers_run

        with api.settings(), _failures_said_once():
            clock = {"before_flow": round(time.perf_counter() - _STARTED, 3)}
            result = papers_run(
                raw_dir=s.raw_dir, out_dir=s.out_dir, year=s.year, lock_timeout_s=s.lock_timeout_s,
                workers=s.workers, row_group_size=s.row_group_size, allow_schema_change=s.allow_schema_change,
                blocking_warnings=sorted(s.blocking_warnings), allow_removals=allow_removals,
            )
            clock["flow_call"] = round(time.perf_counter() - _STARTED - clock["before_flow"], 3)
    except Exception as exc:  # noqa: BLE001 - every failure gets one line and its own code
        if refusal := _refusal(exc):
            raise _fail(*refusal) from None
        if published := _published_by_this_run(s.dataset_dir, before):
            # The version is complete and `latest` names it; what failed came after (e.g. Prefect's API).
            console.print(f"published {published}", highlight=False)
            after = f"after publishing, the run failed: {_one_line(exc)}"
            err.print(f"[yellow]warning:[/yellow] {after}", highlight=False)
            return
        raise _failure(exc, s.raw_dir, s.out_dir, before) from None
    finally:
        api.stop()
    if timings is not None:
        clock["total"] = round(time.perf_counter() - _STARTED, 3)
        record = {"status": result.status, "counts": result.counts, **result.stages, "cli_s": clock}
        timings.write_text(json.dumps(record, indent=2))
    if result.status == "unusable":
        raise _fail(ExitCode.UNUSABLE_INPUT, "error", result.reason or "no usable input")
    if result.status == "empty":
        for line in (result.reason or "").split("; "):
            console.print(f"{line}: nothing to publish", highlight=False)
        return
    counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
    if result.status == "unchanged":
        console.print(f"unchanged: inputs give the same content as {result.version} ({counts})", highlight=False)
    else:
        console.print(f"published {result.version} ({counts})", highlight=False)
    console.print(f"validation report: {result.report}", highlight=False)


def _refusal(exc: Exception) -> tuple[ExitCode, str, str] | None:
    """The exit code and label of a deliberate refusal (blocked, removals, unusable input, busy), else None."""
    from flows.diff import RemovalsRefused, SchemaChangeRefused
    from flows.extract import UnusableInput
    from flows.publish import PublishBusy
    from flows.validate import ValidationBlocked

    if isinstance(exc, (ValidationBlocked, SchemaChangeRefused)):
        return ExitCode.BLOCKED, "blocked", str(exc)
    if isinstance(exc, RemovalsRefused):
        return ExitCode.REMOVALS_REFUSED, "refused", str(exc)
    if isinstance(exc, (UnusableInput, PublishBusy)):
        return ExitCode.UNUSABLE_INPUT, "error", str(exc)
    return None


class _RunFailureFilter(logging.Filter):
    """Keeps Prefect's and GX's own reports of a failed run off the terminal: the CLI says it in one line.

    Drops, for the terminal only, the flow's and tasks' error records (with their tracebacks), their final
    "Finished in state Failed/Crashed" lines and GX's errors; progress lines stay, and a server's API handler,
    which has no such filter, still records everything for the UI.
    """

    _RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(self._RUN_LOGGERS):
            final = record.getMessage().startswith(("Finished in state Failed", "Finished in state Crashed"))
            return record.levelno < logging.ERROR and not final
        return not (record.name.startswith("great_expectations") and record.levelno >= logging.ERROR)


@contextmanager
def _failures_said_once() -> Iterator[None]:
    """While the flow runs, the terminal's log handlers (Prefect's console handler on the root logger) drop
    failure reports that the CLI turns into its one line (_RunFailureFilter); unexpected errors still get their
    traceback, printed by _failure."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    quiet = _RunFailureFilter()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def _unchanged_without_flow(s: Settings) -> str | None:
    """When latest was made from these very inputs with this code, say so without starting a flow (seconds)."""
    from flows import publish
    from flows.extract import UnusableInput
    from flows.fingerprint import run_fingerprint
    from flows.prepare import file_jobs

    latest = publish.latest_name(s.dataset_dir)
    try:
        jobs = file_jobs(s.raw_dir, s.files_cache_dir, s.year) if latest else []
    except UnusableInput:
        return None  # the flow reports it
    if not jobs:
        return None
    run_print = run_fingerprint([(j.rel_path, j.sha256) for j in jobs], s.year)
    days = {j.rel_path: j.mtime_day for j in jobs}
    if not publish.unchanged_since(s.dataset_dir, latest, run_print, days, s.runs_cache_dir):
        return None
    counts = publish.read_manifest(s.dataset_dir, latest)["counts"]
    shown = ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool))
    report = s.dataset_dir / latest / "report" / "index.html"
    return f"unchanged: inputs and code are those of {latest} ({shown})\nvalidation report: {report}"


def _output_usable(dataset_dir: Path, probe_lock: bool) -> None:
    """Raise now (OSError, or PublishBusy when probing) if the dataset directory cannot be created or is locked.

    The lock is taken for real inside the flow; this only spares a doomed run the start of Prefect's API.
    """
    from flows import publish

    dataset_dir.mkdir(parents=True, exist_ok=True)
    if probe_lock:
        with publish.dataset_lock(dataset_dir, timeout_s=0):
            pass


def _published_by_this_run(dataset_dir: Path, before: str | None) -> str | None:
    """The version `latest` names if it changed during this run and is complete, else None."""
    from flows import publish

    try:
        now = publish.latest_name(dataset_dir)
        return now if now and now != before and not publish.version_problems(dataset_dir, now) else None
    except OSError:
        return None


_ERRNO_IN_TEXT = re.compile(r"(?:errno|os error)\s*(\d+)", re.IGNORECASE)
_PATH_IN_TEXT = re.compile(r"'(/[^']+)'|(?<=: )(/\S+)$")
_OUTPUT_HINTS = {
    errno.ENOSPC: "free some space or choose another --out-dir",
    errno.EDQUOT: "free some space or choose another --out-dir",
    errno.EROFS: "choose a writable --out-dir",
    errno.EACCES: "check the permissions or choose another --out-dir",
    errno.EPERM: "check the permissions or choose another --out-dir",
}


def io_failure(exc: BaseException) -> tuple[int, str | None] | None:
    """(errno, path or None) when exc, or an exception it was raised from, is an operating-system I/O error.

    Arrow and Polars report some I/O errors only in their message ("... (os error 28)"), so that is read too.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        if code is None and (m := _ERRNO_IN_TEXT.search(text)):
            code = int(m[1])
        if code is not None:
            path = getattr(exc, "filename", None)
            if path is None and (m := _PATH_IN_TEXT.search(text)):
                path = m[1] or m[2]
            return code, str(path) if path is not None else None
        exc = exc.__cause__ or exc.__context__
    return None


def _failure(exc: Exception, raw_dir: Path, out_dir: Path, latest: str | None) -> typer.Exit:
    """One line for an unexpected failure, with the exit code its kind gets."""
    found = io_failure(exc)
    if found is None:
        traceback.print_exception(exc, file=err.file)
        return _fail(ExitCode.INTERNAL_ERROR, "error", f"{_one_line(exc)} (unexpected; the traceback is above)")
    code, path = found
    cause = os.strerror(code).lower()
    where = Path(path) if path else out_dir
    if _inside(where, raw_dir):
        return _fail(ExitCode.UNUSABLE_INPUT, "error", f"cannot read input {where}: {cause}")
    unchanged = f"latest still names {latest}" if latest else "nothing was published"
    hint = _OUTPUT_HINTS.get(code, "see the path above")
    return _fail(ExitCode.OUTPUT_ERROR, "error", f"cannot write {where}: {cause} ({unchanged}; {hint})")


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return f"{type(exc).__name__}: {text[:300]}"


@app.command()
def versions(
    out_dir: OutDir = None,
    keep: Annotated[int | None, typer.Option(help="first remove all but the newest N versions (never latest)")] = None,
) -> None:
    """List published versions with creation time, row counts, validation status and the latest marker."""
    from flows import publish

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    if keep is not None:
        try:
            with publish.dataset_lock(dataset_dir):
                removed = publish.pruned_versions(dataset_dir, keep)
        except (publish.PublishBusy, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        console.print(f"removed {', '.join(removed) or 'nothing'}")
    names = publish.version_names(dataset_dir)
    if not names:
        err.print(f"no published versions in {dataset_dir}")
        raise typer.Exit(1)
    latest = publish.latest_name(dataset_dir)
    table = Table("version", "created", "papers", "appearances", "links", "quarantined", "validation", "size", "")
    for name in names:
        m = publish.read_manifest(dataset_dir, name)
        c, v = m["counts"], m["validation"]
        size = sum(o["bytes"] for o in m["outputs"])
        status = "passed" if v["success"] else "failed"
        if v.get("failed_warning"):
            status += f" ({v['failed_warning']} warnings)"
        table.add_row(
            name, m["created_at"], f"{c['papers']:,}", f"{c['appearances']:,}", f"{c['links']:,}",
            f"{c['quarantined']:,}", status, f"{size / 1024:,.0f} KiB", "latest" if name == latest else "",
        )
    console.print(table)


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="older version: vN, latest or previous")],
    b: Annotated[str, typer.Argument(help="newer version: vN, latest or previous")],
    out_dir: OutDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Papers added, removed, re-identified and changed between two versions."""
    from flows import publish
    from flows.diff import papers_diff

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    try:
        va, vb = publish.resolved_version(dataset_dir, a), publish.resolved_version(dataset_dir, b)
    except publish.VersionNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    import polars as pl

    old, new = (pl.read_parquet(dataset_dir / v / "papers.parquet") for v in (va, vb))
    old_app, new_app = (pl.read_parquet(dataset_dir / v / "appearances.parquet") for v in (va, vb))
    result = papers_diff(old, new, old_app, new_app)
    if as_json:
        print(json.dumps({"from": va, "to": vb, **result}, indent=2, default=str))
        return
    s = result["summary"]
    console.print(
        f"{va} -> {vb}: {s['added']} added, {s['removed']} removed, {s['reidentified']} re-identified, "
        f"{s['changed']} changed, {s['unchanged']} unchanged",
        highlight=False,
    )
    titles = dict(zip(new["paper_id"], new["title"])) | {
        k: v for k, v in zip(old["paper_id"], old["title"]) if k not in set(new["paper_id"])
    }
    table = Table("change", "paper_id", "title", "fields")
    for pid in result["added"]:
        table.add_row("added", pid, titles.get(pid, ""), "")
    for pid in result["removed"]:
        table.add_row("removed", pid, titles.get(pid, ""), "")
    for item in result["reidentified"]:
        table.add_row("re-identified", f"{item['old']} -> {item['new']}", titles.get(item["new"], ""), "")
    for item in result["changed"]:
        table.add_row("changed", item["paper_id"], titles.get(item["paper_id"], ""), ", ".join(item["fields"]))
    if table.row_count:
        console.print(table)


@app.command()
def validate(
    version: Annotated[str, typer.Argument(help="version to re-validate: vN or latest")] = "latest",
    out_dir: OutDir = None,
) -> None:
    """Re-run the current suite on a published version; writes a fresh report beside it, data untouched."""
    import datetime as dt

    from flows import publish
    from flows.report import write_report
    from flows.validate import validate_version

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    try:
        name = publish.resolved_version(dataset_dir, version)
    except publish.VersionNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    manifest = publish.read_manifest(dataset_dir, name)
    parent = manifest.get("parent")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = validate_version(
        publish.read_tables(dataset_dir, name),
        version=name,
        raw_records=manifest["counts"]["raw_records"],
        parent=publish.read_tables(dataset_dir, parent) if parent else None,
        context={"revalidation_of": name, "inputs": manifest["inputs"]},
    )
    page = write_report(dataset_dir / name / f"report-{stamp}", report)
    console.print(f"{name}: {'passed' if report.success else 'FAILED'}; report: {page}")
    if not report.success:
        raise typer.Exit(1)


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="cron schedule, e.g. '0 6 * * *'")] = "0 6 * * *",
    raw_dir: RawDir = None,
    out_dir: OutDir = None,
    year: Annotated[int | None, typer.Option(help="year for digests whose header has none")] = None,
    name: Annotated[str, typer.Option(help="deployment name")] = "papers-scheduled",
) -> None:
    """Serve the pipeline as a scheduled Prefect deployment (needs PREFECT_API_URL pointing at a server)."""
    from prefect.settings import PREFECT_API_URL

    from flows.pipeline import papers_run

    if not PREFECT_API_URL.value():
        err.print(
            "[red]error:[/red] no Prefect server configured. Start one with "
            "`prefect server start --host 127.0.0.1` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (see README, 'Schedules')."
        )
        raise typer.Exit(2)
    s = _settings(raw_dir=raw_dir, out_dir=out_dir, year=year)
    params = {"raw_dir": str(s.raw_dir.resolve()), "out_dir": str(s.out_dir.resolve()), "year": s.year}
    papers_run.serve(name=name, cron=cron, parameters=params)
