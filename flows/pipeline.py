"""The composition root: the only module that wires read -> clean -> identify -> validate -> publish.

A Prefect flow with one coarse task per stage (never per record); each task only calls the modules that own the
stage's logic and times it. Frames are passed in-process between tasks, so caching of task inputs is off. No
`from __future__ import annotations` here: a served deployment builds its parameter model from the flow's
annotations and needs real types.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import publish, recovery, store
from flows.diff import RemovalsRefused, SchemaChangeRefused, diff_against_parent, refuse_schema_change
from flows.extract import UnusableInput
from flows.merge import merged_candidate
from flows.prepare import Inputs, PreparedFile, listed_inputs, nothing_to_publish, prepared_files, raw_records
from flows.record_checks import Moved, quarantined_offenders
from flows.run import Run, RunResult, run_artifact
from flows.settings import Settings
from flows.validate import Report, ValidationBlocked, imported_in_background, validate_version

__all__ = ["RunResult", "papers_run", "ValidationBlocked", "UnusableInput", "SchemaChangeRefused", "RemovalsRefused"]


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
    """One run: read -> clean -> identify -> validate -> publish a new version, or say that nothing changed."""
    settings = Settings(raw_dir=raw_dir, out_dir=out_dir, year=year, lock_timeout_s=lock_timeout_s, workers=workers,
                        row_group_size=row_group_size, allow_schema_change=allow_schema_change,
                        allow_removals=allow_removals, blocking_warnings=frozenset(blocking_warnings or ()))
    with (recovery.locked(settings.dataset_dir, settings.cache_dir, settings.lock_timeout_s) as repairs,
          publish.staged(settings.dataset_dir) as candidate):
        run = Run(settings, repairs)
        inputs = list_inputs(run)
        if inputs.unchanged:
            return run.unchanged(inputs.latest, "inputs and code are those of")
        prepared = prepare_files(run, inputs)
        if ending := nothing_to_publish(prepared, settings.raw_dir):
            return run.ended(*ending, latest=inputs.latest)
        merged = merge_candidate(run, candidate, prepared, inputs)
        if merged.same_as_latest:
            return run.unchanged(inputs.latest, "same content as")
        checked = validate_candidate(run, candidate, prepared, inputs.latest, merged.moved)
        return publish_version(run, candidate, checked, prepared, inputs)


# ---------------------------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Merged:
    """What merging left in the candidate: the papers record checks moved to quarantine, and whether the tables
    are byte-identical to latest's."""

    moved: dict[str, Moved]
    same_as_latest: bool


@dataclass(frozen=True)
class Checked:
    """A candidate's verdict: the version name it would take, its validation report and its diff to the parent."""

    name: str
    report: Report
    diff: dict | None


@task(name="list_inputs", cache_policy=NO_CACHE)
def list_inputs(run: Run) -> Inputs:
    with run.timed("hash_inputs"):
        return listed_inputs(run.settings)


@task(name="prepare_files", cache_policy=NO_CACHE)
def prepare_files(run: Run, inputs: Inputs) -> list[PreparedFile]:
    # While the files are prepared in worker processes, this one would idle: it imports GX meanwhile.
    imported_in_background()
    with run.timed("prepare_files"):
        prepared = prepared_files(inputs.jobs, run.settings.workers)
    for p in prepared:
        run.add_worker_seconds(p.seconds)
    run.log.info("prepared %d files (%d from the cache): %d records, %d quarantined", len(prepared),
                 sum(p.cached for p in prepared), sum(p.records for p in prepared), sum(p.quarantined for p in prepared))
    return prepared


@task(name="merge_candidate", cache_policy=NO_CACHE)
def merge_candidate(run: Run, candidate: publish.Candidate, prepared: list[PreparedFile], inputs: Inputs) -> Merged:
    s = run.settings
    parent_ids = store.parent_aliases(s.dataset_dir, inputs.latest) if inputs.latest else None
    with run.timed("merge"):
        merged_candidate(candidate, prepared, parent_ids, s.row_group_size)
        moved = quarantined_offenders(candidate, s.row_group_size)
    run.log.info("built %s", ", ".join(f"{k}={v}" for k, v in candidate.rows().items()))
    same = publish.same_as_latest(s.dataset_dir, candidate)
    if same:
        publish.remember_run(s.runs_cache_dir, inputs.run_print, inputs.latest)
    return Merged(moved, same)


@task(name="validate_candidate", cache_policy=NO_CACHE)
def validate_candidate(
    run: Run, candidate: publish.Candidate, prepared: list[PreparedFile], latest: str | None, moved: dict[str, Moved]
) -> Checked:
    s = run.settings
    name, inputs, tables = store.next_version_name(s.dataset_dir), [p.input_row() for p in prepared], candidate.tables()
    parent = store.read_manifest(s.dataset_dir, latest) if latest else None
    if parent and not s.allow_schema_change:
        refuse_schema_change(parent.get("schema", {}), latest)
    with run.timed("validate"):
        diff = diff_against_parent(
            latest, store.scanned_table(s.dataset_dir, latest, "papers"),
            store.scanned_table(s.dataset_dir, latest, "appearances"), parent["inputs"], tables, inputs,
            s.allow_removals,
        ) if parent else None
        context = {"inputs": inputs, "diff": diff["summary"] if diff else None, "parent": latest}
        report = validate_version(
            tables, version=name, raw_records=raw_records(prepared),
            parent={"papers": store.parent_view(s.dataset_dir, latest)} if latest else None,
            report_dir=candidate.path / "report", context=context, blocking_warnings=s.blocking_warnings, moved=moved,
        )
    return Checked(name, report, diff)


@task(name="publish_version", cache_policy=NO_CACHE)
def publish_version(
    run: Run, candidate: publish.Candidate, checked: Checked, prepared: list[PreparedFile], inputs: Inputs
) -> RunResult:
    s, report = run.settings, checked.report
    counts = {**candidate.rows(), "raw_records": raw_records(prepared)}
    if not report.success:
        kept = publish.set_aside(s.dataset_dir, candidate, checked.name)
        run_artifact(checked.name, False, counts, checked.diff, kept / "report" / "index.html")
        blocked = ValidationBlocked(None, dataclasses.replace(report, report_dir=kept / "report"))
        run.log.error("%s", blocked)
        raise blocked
    manifest = publish.version_manifest(
        checked.name, inputs.latest, [p.input_row() for p in prepared], counts["raw_records"], inputs.run_print,
        candidate, report.summary(), checked.diff,
    )
    with run.timed("write_version"):
        path = publish.published(s.dataset_dir, candidate, checked.name, manifest)
    run_artifact(checked.name, True, counts, checked.diff, path / "report" / "index.html")
    return run.published(checked.name, path, counts)
