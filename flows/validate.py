"""Validation gate: runs the suite of schemas/expectations.py on a candidate version and returns a Report.

It orchestrates: the GX checks go to flows/gx_suite.py, the computed ones to flows/computed_checks.py, and
what record checks moved to quarantine beforehand is folded in (flows/record_checks.py). It writes no file
(flows/report.py renders the Report's files), never raises on a failing expectation and never publishes: the
pipeline raises ValidationBlocked when Report.success is False.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from flows import facts
from flows.computed_checks import Evidence, computed_outcome
from flows.gx_suite import gx_run, imported_in_background
from flows.outcome import Outcome, Report
from flows.record_checks import Moved, with_moved
from schemas.expectations import APPEARANCES_ROWS, CENSUS_LOST_WHOLE, EXPECTED_APPEARANCES, GX, POLARS, SUITE
from schemas.tables import PUBLISHED, row_count

__all__ = ["Outcome", "Report", "ValidationBlocked", "blocked_message", "imported_in_background",
           "validate_version"]


class ValidationBlocked(Exception):
    """A candidate version failed a blocking expectation; raised by the pipeline, carries the Report."""

    def __init__(self, message: str | None, report: Report, report_path: Path | None = None) -> None:
        self.report = report
        self.report_path = report_path
        super().__init__(message or blocked_message(report, report_path))


def blocked_message(report: Report, report_path: Path | None = None) -> str:
    """One line naming what blocked a version (table.column and expectation) and where its report is."""
    failures = report.blocking_failures()
    # The census names the file it is about: said here, so the one line names it too.
    named = ", ".join(
        f"{o.table}.{o.column or '*'} {o.expectation}"
        + (f": {o.sample[0]}" if o.expectation == CENSUS_LOST_WHOLE and o.sample else "")
        for o in failures[:3]
    )
    more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
    where = f"; report: {report_path}" if report_path else ""
    failed = f"{len(failures)} blocking expectation(s) failed ({named}{more})"
    return f"version {report.version} blocked: {failed}{where}"


def validate_version(
    tables: dict[str, pl.DataFrame | pl.LazyFrame],
    *,
    version: str,
    raw_records: int,
    parent: dict[str, pl.DataFrame | pl.LazyFrame] | None,
    context: dict | None = None,
    blocking_warnings: frozenset[str] = frozenset(),
    moved: Mapping[str, Moved] | None = None,
) -> Report:
    """Run the whole suite on a candidate; the Report holds every outcome and what its page shows.

    `blocking_warnings` names warning checks (e.g. "row_count_drop_vs_parent") that block for this run.
    `moved` says, per record check name, what flows/record_checks.py moved to quarantine before: such a check
    is reported as failed but not blocking when nothing offending is left (and blocking if anything is).
    Census checks read the inputs' counts from context["inputs"] (manifest input rows).
    """
    missing = set(PUBLISHED) - set(tables)
    if missing:
        raise ValueError(f"validate_version needs tables {sorted(PUBLISHED)}; missing {sorted(missing)}")
    parameters = {
        EXPECTED_APPEARANCES: raw_records - row_count(tables["quarantine"]),
        APPEARANCES_ROWS: row_count(tables["appearances"]),
    }
    evidence = Evidence(tables, raw_records, parent, (context or {}).get("inputs"))
    gx_checks = [(i, c) for i, c in enumerate(SUITE) if c.engine == GX]
    # The computed checks are Polars scans that release the GIL (the regexes over 1M abstracts take ~4 s of their
    # ~7 s), while GX's run is mostly Python: side by side, validate_version on 1M papers took 9.3 / 11.1 s
    # instead of 12.4 / 12.9 s (GX already imported). Outcomes are put back in suite order either way.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="computed-checks") as pool:
        computed = pool.submit(
            lambda: {i: computed_outcome(c, evidence) for i, c in enumerate(SUITE) if c.engine == POLARS}
        )
        gx = gx_run(gx_checks, tables, parameters=parameters, version=version)
        by_index: dict[int, Outcome] = computed.result()
    by_index.update(gx.outcomes)
    outcomes = [
        dataclasses.replace(o, blocking=True) if o.expectation in blocking_warnings else o
        for o in (by_index[i] for i in range(len(SUITE)))
    ]
    outcomes = [with_moved(o, c, (moved or {}).get(c.name)) for o, c in zip(outcomes, SUITE, strict=True)]
    return Report(
        version=version,
        success=not any(o.blocking and not o.success for o in outcomes),
        outcomes=outcomes,
        counts={"raw_records": raw_records, **{name: row_count(frame) for name, frame in tables.items()}},
        parameters=parameters,
        context=dict(context or {}),
        quarantine=facts.quarantine_sample(tables["quarantine"]),
        gx_results=gx.results,
        data_docs=gx.data_docs,
        data_docs_error=gx.docs_error,
    )
