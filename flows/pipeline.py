"""The composition root: the only module that wires read -> clean -> identify -> validate -> publish.

A Prefect flow with one coarse task per stage (never per record); each task only calls the modules that own the
stage's logic and times it. Frames are passed in-process between tasks, so caching of task inputs is off. No
`from __future__ import annotations` here: a served deployment builds its parameter model from the flow's
annotations and needs real types.
"""

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import publish, recovery
from flows.diff import RemovalsRefused, SchemaChangeRefused
from flows.extract import UnusableInput
from flows.gate import Verdict, audited
from flows.merge import Merged, merged
from flows.prepare import Inputs, PreparedFile, listed_inputs, nothing_to_publish, prepared_files, raw_records
from flows.run import Run, RunResult, run_artifact
from flows.settings import Settings
from flows.validate import ValidationBlocked, imported_in_background

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
        built = merge_candidate(run, candidate, prepared, inputs)
        if built.same_as_latest:
            return run.unchanged(inputs.latest, "same content as")
        verdict = validate_candidate(run, candidate, prepared, inputs.latest, built)
        return publish_version(run, candidate, verdict, prepared, inputs)


# ---------------------------------------------------------------------------------------------- stages


@task(name="list_inputs", cache_policy=NO_CACHE)
def list_inputs(run: Run) -> Inputs:
    with run.timed("hash_inputs"):
        return listed_inputs(run.settings)


@task(name="prepare_files", cache_policy=NO_CACHE)
def prepare_files(run: Run, inputs: Inputs) -> list[PreparedFile]:
    imported_in_background()  # while worker processes prepare the files, this one imports GX
    with run.timed("prepare_files"):
        prepared = prepared_files(inputs.jobs, run.settings.workers)
    run.prepared(prepared)
    return prepared


@task(name="merge_candidate", cache_policy=NO_CACHE)
def merge_candidate(run: Run, candidate: publish.Candidate, prepared: list[PreparedFile], inputs: Inputs) -> Merged:
    s = run.settings
    with run.timed("merge"):
        result = merged(candidate, prepared, s.dataset_dir, inputs.latest, s.row_group_size, s.year, s.runs_cache_dir)
    rows = candidate.rows()
    run.papers_rebuilt = rows.get("papers", 0) if result.rebuilt is None else result.rebuilt.len()
    run.log.info("built %s; papers rebuilt from their records: %s", ", ".join(f"{k}={v:,}" for k, v in rows.items()),
                 f"{run.papers_rebuilt:,}")
    if result.same_as_latest:
        publish.remember_run(s.runs_cache_dir, inputs.run_print, inputs.latest)
    return result


@task(name="validate_candidate", cache_policy=NO_CACHE)
def validate_candidate(
    run: Run, candidate: publish.Candidate, prepared: list[PreparedFile], latest: str | None, built: Merged
) -> Verdict:
    with run.timed("validate"):
        return audited(candidate, run.settings, latest, [p.input_row() for p in prepared], raw_records(prepared),
                       built)


@task(name="publish_version", cache_policy=NO_CACHE)
def publish_version(
    run: Run, candidate: publish.Candidate, verdict: Verdict, prepared: list[PreparedFile], inputs: Inputs
) -> RunResult:
    s, counts = run.settings, {**candidate.rows(), "raw_records": raw_records(prepared)}
    if not verdict.report.success:
        page = publish.set_aside(s.dataset_dir, candidate, verdict.name, verdict.report)
        run_artifact(verdict.name, False, counts, verdict.diff, page)
        raise ValidationBlocked(None, verdict.report, page)
    manifest = publish.version_manifest(
        verdict.name, inputs.latest, [p.input_row() for p in prepared], counts["raw_records"], inputs.run_print,
        candidate, verdict.report.summary(), verdict.diff,
    )
    with run.timed("write_version"):
        path = publish.published(s.dataset_dir, candidate, verdict.name, manifest, verdict.report)
    run_artifact(verdict.name, True, counts, verdict.diff, path / "report" / "index.html")
    return run.published(verdict.name, path, counts)
