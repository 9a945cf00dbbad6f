"""The checks Great Expectations cannot express on one pandas batch, or not cheaply, evaluated with Polars.

Column types, keys across tables, drift against the parent version, shares of quarantine and page labels, a
regex over a column too large to hand to GX, and the census (flows/census.py). The suite (schemas/expectations.py)
declares each one with engine POLARS and names it; COMPUTED_CHECKS maps that name to its definition here.
Nothing here imports GX, decides what blocks or renders a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from flows import census
from flows.outcome import SAMPLE_SIZE, Outcome, column_label, pct, short
from schemas.expectations import (
    CENSUS_LOST_WHOLE,
    CENSUS_SHORTFALL,
    COLUMN_TYPES,
    IDLESS_UI_LABELS,
    KEYS_EXIST,
    NOT_MATCH_REGEX,
    NULL_SHARE_JUMP,
    QUARANTINE_SHARE,
    ROW_COUNT_DROP,
    TOP_LANGUAGE_SHIFT,
    Check,
)
from schemas.tables import PUBLISHED, polars_schema, row_count

Frame = pl.DataFrame | pl.LazyFrame
Computed = tuple[bool, str, list[str]]  # success, observed, sample


@dataclass(frozen=True)
class Evidence:
    """What the computed checks look at: the candidate, its parent's tables, the raw count, the inputs' census."""

    tables: dict[str, Frame]
    raw_records: int
    parent: dict[str, Frame] | None = None
    inputs: list[dict] | None = None  # manifest input rows (the census columns among them)

    def parent_table(self, table: str) -> Frame | None:
        return None if self.parent is None else self.parent.get(table)


def computed_outcome(check: Check, evidence: Evidence) -> Outcome:
    """One computed check's Outcome; a check that cannot be evaluated fails, it does not crash the gate."""
    compute = COMPUTED_CHECKS[check.expectation]
    try:
        success, observed, sample = compute(check, evidence)
    except (pl.exceptions.PolarsError, KeyError) as exc:
        # A broken schema shows up here as a missing column.
        said = f"could not evaluate: {type(exc).__name__}: {exc}".splitlines()[0]
        success, observed, sample = False, said, []
    return Outcome(
        table=check.table,
        expectation=check.expectation,
        column=column_label(check),
        blocking=check.blocking,
        success=success,
        observed=observed,
        sample=sample,
        description=check.description,
        kind=check.kind,
    )


# --- on the candidate alone ---------------------------------------------------------------------------------


def column_types(check: Check, e: Evidence) -> Computed:
    want, got = polars_schema(PUBLISHED[check.table]), e.tables[check.table].collect_schema()
    problems = [f"{c}: missing (contract {t})" for c, t in want.items() if c not in got]
    problems += [f"{c}: {got[c]} (contract {t})" for c, t in want.items() if c in got and got[c] != t]
    problems += [f"{c}: not in the contract" for c in got if c not in want]
    if not problems:
        return True, f"all {len(want)} columns have the contract's types", []
    return False, f"{len(problems)} column(s) off contract", problems[:SAMPLE_SIZE]


def keys_exist(check: Check, e: Evidence) -> Computed:
    frame, column = e.tables[check.table], check.kwargs["column"]
    known = e.tables["papers"].lazy().select("paper_id").unique()
    orphans = frame.lazy().select(column).join(known, left_on=column, right_on="paper_id", how="anti").collect()
    bad, height = orphans.height, row_count(frame)
    observed = f"{bad:,} of {height:,} rows point at no paper ({pct(bad, height)})"
    sample = [short(v) for v in orphans.get_column(column).unique(maintain_order=True).head(SAMPLE_SIZE)]
    return bad == 0, observed, sample


def not_match_regex(check: Check, e: Evidence) -> Computed:
    frame, column, regex = e.tables[check.table], check.kwargs["column"], check.kwargs["regex"]
    matches = pl.col(column).str.contains(regex)
    # Counted first, as aggregates the streaming engine computes a morsel at a time: collecting the failing
    # values in the same pass held the whole column (4.1 GB of abstracts at 3M papers, against 0.7 GB).
    counted = frame.lazy().select(pl.col(column).is_not_null().sum().alias("values"), matches.sum().alias("bad"))
    values, bad = counted.collect().row(0)
    sample = (
        frame.lazy().filter(matches).select(column).head(SAMPLE_SIZE).collect().to_series().to_list()
        if bad else []
    )
    observed = f"{bad:,} of {values:,} non-null values unexpected ({pct(bad, values)})"
    if nulls := row_count(frame) - values:
        observed += f"; {nulls:,} null skipped"
    return not bad, observed, list(dict.fromkeys(short(v) for v in sample))


def idless_ui_labels(check: Check, e: Evidence) -> Computed:
    column, regex, max_words = check.kwargs["column"], check.kwargs["regex"], check.kwargs["max_words"]
    idless = (
        e.tables[check.table].lazy()
        .filter(pl.col("arxiv_id").is_null() & pl.col(column).is_not_null())
        .select(column, "flags", pl.col("abstract").is_null().alias("no_abstract"))
        .collect()
    )
    title = pl.col(column)
    # A known label, or a card's caption: a reader found no id where a paper would have one, no abstract, and a
    # title of a few words.
    caption = (
        pl.col("flags").list.contains("arxiv_id_missing")
        & pl.col("no_abstract")
        & (title.str.count_matches(r"\S+") <= max_words)
    )
    bad = idless.filter(title.str.contains(regex) | caption).get_column(column)
    observed = f"{bad.len():,} of {idless.height:,} papers without an arXiv id are titled like a page label"
    return bad.is_empty(), observed, list(dict.fromkeys(short(v) for v in bad.head(SAMPLE_SIZE)))


def quarantine_share(check: Check, e: Evidence) -> Computed:
    frame, raw = e.tables[check.table], e.raw_records
    height = row_count(frame)
    share = height / raw if raw else 0.0
    observed = f"{height:,} of {raw:,} raw records quarantined ({share:.1%})"
    reasons = frame.lazy().select("reason").collect().to_series().value_counts(sort=True, name="n").head(SAMPLE_SIZE)
    sample = [f"{short(r)} (x{n:,})" for r, n in reasons.iter_rows()]
    return share <= check.kwargs["max_share"], observed, sample


# --- against the parent version -----------------------------------------------------------------------------


def _no_parent() -> Computed:
    return True, "no parent version to compare with", []


def _not_in_parent(column: str) -> Computed:
    # A parent published before the column existed has nothing to compare with; that is not drift.
    return True, f"the parent version has no {column} column to compare with", []


def row_count_drop(check: Check, e: Evidence) -> Computed:
    before = e.parent_table(check.table)
    if before is None:
        return _no_parent()
    now, prev = row_count(e.tables[check.table]), row_count(before)
    drop = (prev - now) / prev if prev else 0.0
    return drop <= check.kwargs["max_drop"], f"{now:,} rows vs {prev:,} in the parent ({-drop:+.1%})", []


def _null_share(frame: Frame, column: str) -> float:
    counted = frame.lazy().select(pl.col(column).null_count().alias("nulls"), pl.len().alias("rows")).collect()
    nulls, rows = counted.row(0)
    return nulls / rows if rows else 0.0


def null_share_jump(check: Check, e: Evidence) -> Computed:
    before, column = e.parent_table(check.table), check.kwargs["column"]
    if before is None:
        return _no_parent()
    if column not in before.collect_schema().names():
        return _not_in_parent(column)
    now, prev = _null_share(e.tables[check.table], column), _null_share(before, column)
    observed = f"{now:.1%} null vs {prev:.1%} in the parent ({(now - prev) * 100:+.1f} points)"
    return now - prev <= check.kwargs["max_jump"], observed, []


def _value_shares(frame: Frame, column: str) -> dict[str, float]:
    values = frame.lazy().select(pl.col(column).drop_nulls()).collect().to_series()
    if values.is_empty():
        return {}
    counts = values.value_counts(sort=True, name="n")
    return {str(v): n / values.len() for v, n in counts.iter_rows()}


def top_share_shift(check: Check, e: Evidence) -> Computed:
    before, column = e.parent_table(check.table), check.kwargs["column"]
    if before is None:
        return _no_parent()
    if column not in before.collect_schema().names():
        return _not_in_parent(column)
    prev_shares, now_shares = _value_shares(before, column), _value_shares(e.tables[check.table], column)
    if not prev_shares:
        return True, f"the parent has no {column} values to compare with", []
    top = next(iter(prev_shares))
    prev, now = prev_shares[top], now_shares.get(top, 0.0)
    observed = f"{top}: {prev:.1%} of papers in the parent, {now:.1%} now ({(now - prev) * 100:+.1f} points)"
    sample = [f"{v}: {s:.1%}" for v, s in list(now_shares.items())[:SAMPLE_SIZE]]
    return abs(now - prev) <= check.kwargs["max_shift"], observed, sample


# The suite's computed names and what computes each (schemas/expectations.COMPUTED names exactly these).
COMPUTED_CHECKS: dict[str, Callable[[Check, Evidence], Computed]] = {
    COLUMN_TYPES: column_types,
    KEYS_EXIST: keys_exist,
    NOT_MATCH_REGEX: not_match_regex,
    IDLESS_UI_LABELS: idless_ui_labels,
    QUARANTINE_SHARE: quarantine_share,
    ROW_COUNT_DROP: row_count_drop,
    NULL_SHARE_JUMP: null_share_jump,
    TOP_LANGUAGE_SHIFT: top_share_shift,
    CENSUS_LOST_WHOLE: lambda check, e: census.no_input_lost_whole(e.inputs),
    CENSUS_SHORTFALL: lambda check, e: census.inputs_reach_their_census(e.inputs),
}
