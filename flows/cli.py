"""The `papers` command line: run, versions, diff, validate, serve.

Thin: parses flags into Settings, calls the flow or the publish helpers, prints results. Telemetry of Prefect
and Great Expectations is switched off here, before either is imported (the machine has no internet).
"""

from __future__ import annotations

import json
import os
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

app = typer.Typer(help="Raw paper digests -> cleaned, validated, versioned Parquet.", no_args_is_help=True)
console = Console(width=160 if not os.isatty(1) else None)
err = Console(stderr=True)

RawDir = Annotated[Path | None, typer.Option("--raw-dir", help="input dumps [default: data/raw]")]
OutDir = Annotated[Path | None, typer.Option("--out-dir", help="output root [default: data/processed]")]


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@app.command()
def run(
    raw_dir: RawDir = None,
    out_dir: OutDir = None,
    year: Annotated[int | None, typer.Option(help="year for digests whose header has none")] = None,
    wait: Annotated[float | None, typer.Option(help="seconds to wait if another run holds the lock")] = None,
    allow_schema_change: Annotated[
        bool, typer.Option(help="publish even if a column was removed or retyped since the parent")
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
    from flows.pipeline import SchemaChangeRefused, UnusableInput, ValidationBlocked, papers_run
    from flows.publish import PublishBusy

    s = _settings(raw_dir=raw_dir, out_dir=out_dir, year=year, lock_timeout_s=wait,
                  allow_schema_change=allow_schema_change or None,
                  blocking_warnings=frozenset(block_on) if block_on else None)
    if unchanged := _unchanged_without_flow(s):
        console.print(unchanged, highlight=False)
        if timings is not None:
            timings.write_text(json.dumps({"status": "unchanged", "decided_without_flow": True}, indent=2))
        return
    try:
        result = papers_run(
            raw_dir=s.raw_dir, out_dir=s.out_dir, year=s.year, lock_timeout_s=s.lock_timeout_s,
            workers=s.workers, row_group_size=s.row_group_size,
            allow_schema_change=s.allow_schema_change, blocking_warnings=sorted(s.blocking_warnings),
        )
    except (ValidationBlocked, SchemaChangeRefused) as exc:
        err.print(f"[red]blocked:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (UnusableInput, PublishBusy) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if timings is not None:
        timings.write_text(json.dumps({"status": result.status, "counts": result.counts, **result.stages}, indent=2))
    counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
    if result.status == "unchanged":
        console.print(f"unchanged: inputs give the same content as {result.version} ({counts})", highlight=False)
    else:
        console.print(f"published {result.version} ({counts})", highlight=False)
    console.print(f"validation report: {result.report}", highlight=False)


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
    result = papers_diff(old, new)
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
        report_dir=dataset_dir / name / f"report-{stamp}",
        context={"revalidation_of": name, "inputs": manifest["inputs"]},
    )
    console.print(f"{name}: {'passed' if report.success else 'FAILED'}; report: {report.report_dir / 'index.html'}")
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
