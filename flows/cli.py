"""The `papers` command line: run, versions, diff, validate, serve.

Thin: parses flags into Settings, calls the flow or the publish helpers, prints results and maps every failure
to one line and an exit code (ExitCode). Telemetry of Prefect and Great Expectations is switched off here,
before either is imported (the machine has no internet).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
import time
import traceback
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

from flows.failures import ExitCode, failure, failures_said_once, one_line, refusal  # noqa: E402
from flows.settings import Settings  # noqa: E402

_STARTED = time.perf_counter()  # for --timings: the seconds spent before and around the flow

app = typer.Typer(help="Raw paper digests -> cleaned, validated, versioned Parquet.", no_args_is_help=True)
console = Console(width=160 if not os.isatty(1) else None)
err = Console(stderr=True)

RawDir = Annotated[Path | None, typer.Option("--raw-dir", help="input dumps [default: data/raw]")]
OutDir = Annotated[Path | None, typer.Option("--out-dir", help="output root [default: data/processed]")]


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
    from flows import store
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
    before = store.latest_name(s.dataset_dir)
    try:
        # Fail in a second, not after Prefect's API has started.
        _output_usable(s.dataset_dir, probe_lock=s.lock_timeout_s <= 0)
        api.launch()  # Prefect's API boots in its own process while this one imports the pipeline
        from flows.pipeline import papers_run
        from flows.validate import imported_in_background

        # ... and then GX, while this process only waits for the API: started in the flow, GX's import took a
        # core from the file workers (cold run) or the merge (a new digest) for 3-5 s.
        imported_in_background()

        with api.settings(), failures_said_once():
            clock = {"before_flow": round(time.perf_counter() - _STARTED, 3)}
            result = papers_run(
                raw_dir=s.raw_dir, out_dir=s.out_dir, year=s.year, lock_timeout_s=s.lock_timeout_s,
                workers=s.workers, row_group_size=s.row_group_size, allow_schema_change=s.allow_schema_change,
                blocking_warnings=sorted(s.blocking_warnings), allow_removals=allow_removals,
            )
            clock["flow_call"] = round(time.perf_counter() - _STARTED - clock["before_flow"], 3)
    except Exception as exc:  # noqa: BLE001 - every failure gets one line and its own code
        if refused := refusal(exc):
            raise _fail(*refused) from None
        if published := _published_by_this_run(s.dataset_dir, before):
            # The version is complete and `latest` names it; what failed came after (e.g. Prefect's API).
            console.print(f"published {published}", highlight=False)
            after = f"after publishing, the run failed: {one_line(exc)}"
            err.print(f"[yellow]warning:[/yellow] {after}", highlight=False)
            return
        code, label, message = failure(exc, s.raw_dir, s.out_dir, before)
        if code == ExitCode.INTERNAL_ERROR:
            traceback.print_exception(exc, file=err.file)
        raise _fail(code, label, message) from None
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


def _unchanged_without_flow(s: Settings) -> str | None:
    """When latest was made from these very inputs with this code, say so without starting a flow (seconds)."""
    from flows import store
    from flows.extract import UnusableInput
    from flows.prepare import listed_inputs

    if store.latest_name(s.dataset_dir) is None:
        return None
    try:
        inputs = listed_inputs(s)
    except UnusableInput:
        return None  # the flow reports it
    if not inputs.unchanged:
        return None
    counts = store.read_manifest(s.dataset_dir, inputs.latest)["counts"]
    shown = ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool))
    report = s.dataset_dir / inputs.latest / "report" / "index.html"
    return f"unchanged: inputs and code are those of {inputs.latest} ({shown})\nvalidation report: {report}"


def _output_usable(dataset_dir: Path, probe_lock: bool) -> None:
    """Raise now (OSError, or PublishBusy when probing) if the dataset directory cannot be created or is locked.

    The lock is taken for real inside the flow; this only spares a doomed run the start of Prefect's API.
    """
    from flows import recovery

    dataset_dir.mkdir(parents=True, exist_ok=True)
    if probe_lock:
        with recovery.dataset_lock(dataset_dir, timeout_s=0):
            pass


def _published_by_this_run(dataset_dir: Path, before: str | None) -> str | None:
    """The version `latest` names if it changed during this run and is complete, else None."""
    from flows import store

    try:
        now = store.latest_name(dataset_dir)
        return now if now and now != before and not store.version_problems(dataset_dir, now) else None
    except OSError:
        return None


@app.command()
def versions(
    out_dir: OutDir = None,
    keep: Annotated[int | None, typer.Option(help="first remove all but the newest N versions (never latest)")] = None,
) -> None:
    """List published versions with creation time, row counts, validation status and the latest marker."""
    from flows import publish, recovery, store

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    if keep is not None:
        try:
            with recovery.dataset_lock(dataset_dir):
                removed = publish.pruned_versions(dataset_dir, keep)
        except (recovery.PublishBusy, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        console.print(f"removed {', '.join(removed) or 'nothing'}")
    names = store.version_names(dataset_dir)
    if not names:
        err.print(f"no published versions in {dataset_dir}")
        raise typer.Exit(1)
    latest = store.latest_name(dataset_dir)
    table = Table("version", "created", "papers", "appearances", "links", "quarantined", "validation", "size", "")
    for name in names:
        m = store.read_manifest(dataset_dir, name)
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
    from flows import store
    from flows.diff import papers_diff

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    try:
        va, vb = store.resolved_version(dataset_dir, a), store.resolved_version(dataset_dir, b)
    except store.VersionNotFound as exc:
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

    from flows import store
    from flows.publish import write_report
    from flows.validate import validate_version

    dataset_dir = _settings(out_dir=out_dir).dataset_dir
    try:
        name = store.resolved_version(dataset_dir, version)
    except store.VersionNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    manifest = store.read_manifest(dataset_dir, name)
    parent = manifest.get("parent")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = validate_version(
        store.read_tables(dataset_dir, name),
        version=name,
        raw_records=manifest["counts"]["raw_records"],
        parent=store.read_tables(dataset_dir, parent) if parent else None,
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


def main() -> None:
    """The `papers` command: the app, then the exit functions, then a quick exit.

    Once a command has finished, its threads have ended and the exit functions have run (Prefect sends its last
    logs and events, logging flushes its handlers), tearing down the interpreter with GX, pandas, scipy and
    Prefect loaded took another 1.1-1.4 s per `papers run` here; nothing is left for it to do, so it is skipped.
    Every file a run writes is closed (and fsynced) before the command returns. An exception other than an exit
    leaves the normal way.
    """
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):  # what the interpreter would do with sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # the interpreter's own exit step, which os._exit skips
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left (`papers versions | head -1`)
            stream.flush()
    os._exit(code or 0)
