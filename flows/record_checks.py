"""Record checks: papers that fail a blocking expectation about one record leave the candidate for quarantine.

One bad title, id or URL must not hold the other papers hostage (SPEC §8). Before the suite runs, the blocking
RECORD checks of schemas/expectations.py are evaluated row by row with Polars; each offending paper is removed
from papers, with its appearances and links, and each of its sightings becomes a quarantine row whose reason is
the check's name. Counts keep reconciling: raw_records = appearances + quarantined, and n_appearances still sums
to the appearances. The suite then checks what is left, so an offender this module missed still blocks.
It does not decide what is valid (the suite does) and writes only through flows/publish.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl
import pyarrow.parquet as pq

from flows import publish
from schemas.expectations import NOT_MATCH_REGEX, RECORD, RECORD_EXPECTATIONS, SUITE, Check
from schemas.tables import PUBLISHED

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Moved:
    """What one record check moved to quarantine."""

    papers: int
    records: int  # sightings (appearances) of those papers, now quarantine rows
    sample: list[str]  # offending values, for the report


def quarantining_checks() -> list[Check]:
    """The blocking record checks, in suite order."""
    return [c for c in SUITE if c.kind == RECORD and c.blocking]


def offending(check: Check) -> pl.Expr:
    """True on the rows that fail the check (nulls pass, as in GX's column map expectations)."""
    if check.expectation not in RECORD_EXPECTATIONS:
        raise ValueError(f"{check.name}: {check.expectation} cannot be evaluated row by row")
    column = pl.col(check.kwargs["column"])
    if check.expectation == "ExpectColumnValuesToMatchRegex":
        failing = ~column.str.contains(check.kwargs["regex"])
    elif check.expectation in ("ExpectColumnValuesToNotMatchRegex", NOT_MATCH_REGEX):
        failing = column.str.contains(check.kwargs["regex"])
    else:  # ExpectColumnValuesToBeInSet
        failing = ~column.is_in(pl.Series(list(check.kwargs["value_set"]), dtype=pl.String).implode())
    return failing.fill_null(False)


def failing_papers(tables: dict[str, pl.LazyFrame]) -> pl.DataFrame:
    """paper_id, check (its name) and the offending value, for every (paper, failing record check) pair.

    >>> # a paper titled "<script>x</script> Title" -> ("arxiv:2503.02130", "title_without_latex_or_html", ...)
    """
    parts = [
        tables[check.table]
        .filter(offending(check))
        .select("paper_id", pl.lit(check.name).alias("check"), pl.col(check.kwargs["column"]).cast(pl.String).alias("value"))
        for check in quarantining_checks()
    ]
    return pl.concat(pl.collect_all(parts)).unique(["paper_id", "check"], keep="first", maintain_order=True)


def quarantined_offenders(candidate: publish.Candidate, row_group_size: int) -> dict[str, Moved]:
    """Move the papers failing a blocking record check, with their appearances and links, into quarantine.

    Rewrites the candidate's four tables only when some paper fails; returns what each check moved (by name).
    """
    failing = failing_papers(candidate.tables())
    if failing.is_empty():
        return {}
    per_paper = failing.group_by("paper_id", maintain_order=True).agg(
        pl.col("check").str.join(", ").alias("reason"), pl.col("value").first().alias("raw_text")
    )
    ids = per_paper["paper_id"].implode()
    sightings = (
        candidate.tables()["appearances"].filter(pl.col("paper_id").is_in(ids)).select("paper_id", "source_path",
        "source_sha256", "line").collect()
    )
    moved_rows = sightings.join(per_paper, on="paper_id", how="left", maintain_order="left").select(
        "source_path", "source_sha256", pl.format("line {}", "line").alias("location"), "reason", "raw_text"
    )
    keep = ~pl.col("paper_id").is_in(ids)
    for table in ("papers", "appearances", "links"):
        _rewritten(candidate, table, row_group_size, keep)
    _rewritten(candidate, "quarantine", row_group_size, None, appended=moved_rows)
    sightings_per_paper = sightings.group_by("paper_id").len()
    moved = {}
    for check, group in failing.join(sightings_per_paper, on="paper_id", how="left").group_by(
        "check", maintain_order=True
    ):
        sample = list(dict.fromkeys(group["value"].drop_nulls().head(SAMPLE_SIZE).to_list()))
        moved[check[0]] = Moved(group.height, int(group["len"].fill_null(0).sum()), sample)
    return moved


def _rewritten(
    candidate: publish.Candidate, table: str, row_group_size: int, keep: pl.Expr | None,
    appended: pl.DataFrame | None = None,
) -> None:
    """Write one table of the candidate again, a row group at a time: the kept rows, then `appended`."""
    path = candidate.path / f"{table}.parquet"
    old = path.with_name(f".{table}.before-record-checks.parquet")
    path.rename(old)

    def frames():
        for batch in pq.ParquetFile(old).iter_batches(batch_size=row_group_size):
            frame = pl.from_arrow(batch)
            yield frame.filter(keep) if keep is not None else frame
        if appended is not None:
            yield appended

    try:
        publish.write_table(candidate, table, frames(), PUBLISHED[table], row_group_size)
    finally:
        old.unlink(missing_ok=True)


def with_moved(outcome, check: Check, moved: Moved | None):
    """A record check's outcome, saying what was moved to quarantine before the suite ran.

    Nothing offending left: failed but not blocking (the version publishes without those papers). Anything
    left (a row this module did not catch) stays a blocking failure.
    """
    outcome = dataclasses.replace(outcome, name=check.name)
    if moved is None:
        return outcome
    said = f"{moved.papers:,} paper(s) with {moved.records:,} sighting(s) moved to quarantine as {check.name}"
    if not outcome.success:
        return dataclasses.replace(outcome, observed=f"{said}; still failing: {outcome.observed}",
                                   quarantined=moved.records)
    return dataclasses.replace(outcome, success=False, blocking=False, observed=said, sample=moved.sample,
                               quarantined=moved.records)
