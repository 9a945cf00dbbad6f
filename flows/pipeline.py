"""The composition root: the only module that wires extract -> clean -> identity -> validate -> publish.

Prefect flow with a few coarse tasks (one per stage, never per record). The flow body reads like the README.
Frames are passed in-process between tasks, so caching of task inputs is off. No `from __future__ import
annotations` here: a served deployment builds its parameter model from these annotations and needs real types.
"""

import contextlib
import datetime as dt
import resource
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import identity, publish
from flows.card import card_plots, dataset_card
from flows.census import census_counts
from flows.diff import RemovalsRefused, SchemaChangeRefused, papers_diff, removals
from flows.extract import UnusableInput
from flows.fingerprint import run_fingerprint
from flows.merge import merged_candidate
from flows.prepare import FileJob, PreparedFile, file_jobs, prepared_files
from flows.record_checks import Moved, quarantined_offenders
from flows.report import write_report
from flows.settings import Settings
from flows.validate import Report, ValidationBlocked, imported_in_background, validate_version
from schemas.tables import (
    fingerprint,
    schema_description,
    schema_violations,
)

__all__ = ["RunResult", "papers_run", "ValidationBlocked", "UnusableInput", "SchemaChangeRefused", "RemovalsRefused"]


@dataclass
class RunResult:
    """What one run did, for the CLI and for callers."""

    status: str  # published | unchanged | blocked
    version: str | None
    report: str | None
    counts: dict = field(default_factory=dict)
    reason: str | None = None
    stages: dict = field(default_factory=dict)  # seconds and peak memory per stage (Stages.as_dict)


# ---------------------------------------------------------------------------------------------- stages


class Stages:
    """Wall seconds and peak RSS after each stage of one run, and the workers' CPU seconds per step."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.wall: dict[str, float] = {}
        self.peak_rss_mib: dict[str, int] = {}
        self.worker_cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.wall[stage] = round(time.perf_counter() - start, 3)
            self.peak_rss_mib[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    def add_workers(self, prepared: list[PreparedFile]) -> None:
        for p in prepared:
            for step, seconds in p.seconds.items():
                self.worker_cpu[step] = round(self.worker_cpu.get(step, 0.0) + seconds, 3)

    def as_dict(self) -> dict:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        return {"wall_s": self.wall, "flow_body_s": round(time.perf_counter() - self.started, 3),
                "peak_rss_mib": self.peak_rss_mib, "worker_cpu_s": self.worker_cpu, "largest_worker_rss_mib": children}


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    from importlib.metadata import version

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version('papers')}+{commit}" if commit else version("papers")


def version_manifest(
    name: str, parent: str | None, prepared: list[PreparedFile], run_print: str, candidate: publish.Candidate,
    report: Report, diff: dict | None,
) -> dict:
    """The manifest.json of a version: provenance, outputs, schema, validation, reconciled counts."""
    n_app = candidate.outputs["appearances.parquet"]["rows"]
    n_quar = candidate.outputs["quarantine.parquet"]["rows"]
    raw = sum(p.records + p.quarantined for p in prepared)
    return {
        "version": name,
        "parent": parent,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "run_fingerprint": run_print,
        "inputs": [p.input_row() for p in prepared],
        "outputs": [{"file": f, **o} for f, o in candidate.outputs.items()],
        "schema_fingerprint": fingerprint(),
        "schema": schema_description(),
        "validation": report.summary(),
        "counts": {
            "raw_records": raw,
            "appearances": n_app,
            "quarantined": n_quar,
            "papers": candidate.outputs["papers.parquet"]["rows"],
            "links": candidate.outputs["links.parquet"]["rows"],
            "reconciles": raw == n_app + n_quar,
            "census": census_counts(p.input_row() for p in prepared),
        },
        "diff": diff,
    }


# ---------------------------------------------------------------------------------------------- tasks


@task(name="list_inputs", cache_policy=NO_CACHE)
def list_inputs(raw_dir: Path, cache_dir: Path, year: int | None) -> list[FileJob]:
    return file_jobs(raw_dir, cache_dir, year)


@task(name="prepare_files", cache_policy=NO_CACHE)
def prepare_files(jobs: list[FileJob], workers: int) -> list[PreparedFile]:
    return prepared_files(jobs, workers)


@task(name="write_candidate", cache_policy=NO_CACHE)
def write_candidate(
    dataset_dir: Path, prepared: list[PreparedFile], parent_ids: pl.DataFrame | None, row_group_size: int
) -> publish.Candidate:
    candidate = publish.new_candidate(dataset_dir)
    try:
        merged_candidate(candidate, prepared, parent_ids, row_group_size)
    except BaseException:
        publish.discard(candidate)
        raise
    return candidate


@task(name="quarantine_failing_records", cache_policy=NO_CACHE)
def quarantine_failing_records(candidate: publish.Candidate, row_group_size: int) -> dict[str, Moved]:
    return quarantined_offenders(candidate, row_group_size)


@task(name="validate_candidate", cache_policy=NO_CACHE)
def validate_candidate(
    tables: dict[str, pl.LazyFrame], name: str, raw_records: int, parent: dict | None, report_dir: Path,
    context: dict, blocking_warnings: frozenset[str], moved: dict[str, Moved],
) -> Report:
    report = validate_version(
        tables, version=name, raw_records=raw_records, parent=parent, context=context,
        blocking_warnings=blocking_warnings, moved=moved,
    )
    write_report(report_dir, report)
    return report


@task(name="write_version", cache_policy=NO_CACHE)
def write_version(dataset_dir: Path, candidate: publish.Candidate, name: str, manifest: dict,
                  tables: dict[str, pl.LazyFrame]) -> Path:
    # The card reads counts, languages and flags: every column but the texts.
    summary = {t: frame.select(pl.exclude(identity.TEXTS)).collect() for t, frame in tables.items()}
    (candidate.path / "README.md").write_text(dataset_card(name, summary, manifest), encoding="utf-8")
    for rel, svg in card_plots(summary).items():
        (candidate.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (candidate.path / rel).write_text(svg, encoding="utf-8")
    return publish.promoted(dataset_dir, candidate, name, manifest)


# ---------------------------------------------------------------------------------------------- flow


@flow(name="papers-run", log_prints=False)
def papers_run(
    raw_dir: Path = Path("data/raw"),
    out_dir: Path = Path("data/processed"),
    year: int | None = None,
    lock_timeout_s: float = 0.0,
    workers: int = 0,
    row_group_size: int = 100_000,
    allow_schema_change: bool = False,
    allow_removals: bool = False,
    blocking_warnings: list[str] | None = None,
) -> RunResult:
    """One run: extract -> clean -> validate -> publish a new version, or report that nothing changed."""
    log = get_run_logger()
    settings = Settings(raw_dir=raw_dir, out_dir=out_dir, year=year, lock_timeout_s=lock_timeout_s,
                        workers=workers, row_group_size=row_group_size,
                        allow_schema_change=allow_schema_change, allow_removals=allow_removals,
                        blocking_warnings=frozenset(blocking_warnings or ()))
    dataset_dir = settings.dataset_dir
    with publish.dataset_lock(dataset_dir, settings.lock_timeout_s):
        for note in publish.recovered(dataset_dir, settings.cache_dir):
            log.warning("%s", note)
        stages = Stages()
        with stages.timed("hash_inputs"):
            jobs = list_inputs(settings.raw_dir, settings.files_cache_dir, settings.year)
        if not jobs:
            return RunResult("unusable", publish.latest_name(dataset_dir), None,
                             reason=f"no dump files in {settings.raw_dir}")
        run_print = run_fingerprint([(j.rel_path, j.sha256) for j in jobs], settings.year)
        latest = publish.latest_name(dataset_dir)
        days = {j.rel_path: j.mtime_day for j in jobs}
        if latest and publish.unchanged_since(dataset_dir, latest, run_print, days, settings.runs_cache_dir):
            log.info("unchanged: inputs and code are those of %s", latest)
            return _unchanged(dataset_dir, latest, stages)
        # While the files are prepared in worker processes, this one would idle: it imports GX meanwhile.
        imported_in_background()
        with stages.timed("prepare_files"):
            prepared = prepare_files(jobs, settings.workers)
        stages.add_workers(prepared)
        raw_records = sum(p.records + p.quarantined for p in prepared)
        log.info("prepared %d files (%d from the cache): %d records, %d quarantined", len(prepared),
                 sum(p.cached for p in prepared), sum(p.records for p in prepared), sum(p.quarantined for p in prepared))
        if not any(p.records for p in prepared):
            return _nothing_to_publish(prepared, latest, stages)
        parent = publish.parent_view(dataset_dir, latest) if latest else None
        with stages.timed("merge"):
            candidate = write_candidate(
                dataset_dir, prepared, parent.select("paper_id", "aliases") if parent is not None else None,
                settings.row_group_size,
            )
            moved = quarantine_failing_records(candidate, settings.row_group_size)
        counts = {f.removesuffix(".parquet"): o["rows"] for f, o in candidate.outputs.items()}
        counts["raw_records"] = raw_records
        log.info("built %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
        if publish.same_as_latest(dataset_dir, candidate):
            publish.discard(candidate)
            publish.remember_run(settings.runs_cache_dir, run_print, latest)
            log.info("unchanged: same content as %s", latest)
            return _unchanged(dataset_dir, latest, stages)
        tables = candidate.tables()

        name = publish.next_version_name(dataset_dir)
        if latest and not settings.allow_schema_change:
            breaks = schema_violations(publish.read_manifest(dataset_dir, latest).get("schema", {}), schema_description())
            if breaks:
                publish.discard(candidate)
                raise SchemaChangeRefused(
                    f"schema change against {latest} refused: {'; '.join(breaks)} "
                    "(pass --allow-schema-change to publish anyway)"
                )
        with stages.timed("validate"):
            inputs = [p.input_row() for p in prepared]
            diff = _diff_or_refused(dataset_dir, latest, candidate, tables, inputs, settings.allow_removals)
            context = {"inputs": inputs, "diff": diff["summary"] if diff else None, "parent": latest}
            report = validate_candidate(
                tables, name, raw_records, {"papers": parent} if parent is not None else None, candidate.path / "report",
                context, settings.blocking_warnings, moved,
            )
        manifest = version_manifest(name, latest, prepared, run_print, candidate, report, diff)
        if not report.success:
            kept = publish.set_aside(dataset_dir, candidate, name)
            _artifact(name, report, counts, diff, kept / "report" / "index.html")
            blocked = ValidationBlocked(None, report, kept / "report" / "index.html")
            log.error("%s", blocked)
            raise blocked
        with stages.timed("write_version"):
            path = write_version(dataset_dir, candidate, name, manifest, tables)
        _artifact(name, report, counts, diff, path / "report" / "index.html")
        log.info("published %s at %s", name, path)
        return RunResult("published", name, str(path / "report" / "index.html"), counts, stages=stages.as_dict())


def _diff_or_refused(
    dataset_dir: Path, latest: str | None, candidate: publish.Candidate, tables: dict[str, pl.LazyFrame],
    inputs: list[dict], allow_removals: bool,
) -> dict | None:
    """The diff against the parent; raises RemovalsRefused (discarding the candidate) when it drops papers."""
    if latest is None:
        return None
    parent_papers = publish.scanned_table(dataset_dir, latest, "papers")
    parent_appearances = publish.scanned_table(dataset_dir, latest, "appearances")
    diff = papers_diff(parent_papers, tables["papers"], parent_appearances, tables["appearances"])
    if diff["removed"] and not allow_removals:
        publish.discard(candidate)
        parent_inputs = publish.read_manifest(dataset_dir, latest)["inputs"]
        gone = pl.DataFrame({"paper_id": diff["removed"]}, schema={"paper_id": pl.String}).lazy()
        raise RemovalsRefused(removals(
            diff, latest, parent_papers.select("paper_id", "title").join(gone, on="paper_id").collect(),
            parent_appearances.select("paper_id", "source_path").join(gone, on="paper_id").collect(),
            parent_inputs, inputs,
        ))
    return diff


def _nothing_to_publish(prepared: list[PreparedFile], latest: str | None, stages: Stages) -> RunResult:
    """No input holds a record: say why per file, without a traceback (returned, not raised, for that reason).

    Inputs that announce no entries at all (a weekend feed) are a quiet day ("empty"); anything else quarantined
    whole makes the directory unusable.
    """
    counts = {"raw_records": sum(p.quarantined for p in prepared), "quarantined": sum(p.quarantined for p in prepared)}
    if not any(p.quarantined for p in prepared):
        said = "; ".join(f"{p.path}: {p.format} holds no entries" for p in prepared)
        return RunResult("empty", latest, None, counts, reason=said, stages=stages.as_dict())
    reasons = pl.scan_parquet([p.quarantine_path for p in prepared]).select("source_path", "reason").unique(
        maintain_order=True).collect()
    said = "; ".join(f"{path}: {reason}" for path, reason in reasons.iter_rows())
    return RunResult("unusable", latest, None, counts, reason=f"no usable records ({said})", stages=stages.as_dict())


def _unchanged(dataset_dir: Path, latest: str, stages: Stages | None = None) -> RunResult:
    """The result of a run that publishes nothing: latest's counts and report."""
    counts = publish.read_manifest(dataset_dir, latest).get("counts", {})
    counts = {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
    return RunResult("unchanged", latest, str(dataset_dir / latest / "report" / "index.html"), counts,
                     stages=stages.as_dict() if stages else {})


def _artifact(name: str, report: Report, counts: dict, diff: dict | None, report_path: Path) -> None:
    """A markdown summary of the run, visible in the Prefect UI when a server is used."""
    lines = [f"# papers {name}: {'valid' if report.success else 'BLOCKED'}", "", "| table | rows |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in counts.items()]
    if diff:
        lines += ["", "Changes: " + ", ".join(f"{k} {v}" for k, v in diff["summary"].items() if isinstance(v, int))]
    lines += ["", f"Report: `{report_path.resolve()}`"]
    create_markdown_artifact(markdown="\n".join(lines), key="papers-run", description=f"papers {name}")
