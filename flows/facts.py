"""The facts the validation report and the dataset card both show, computed once: the diff summary, the inputs
table (with the census columns) and the quarantine reasons.

Plain lists and dicts for the templates in flows/templates/ (facts.html.j2 and facts.md.j2 render each fact, one
macro per format). Nothing here escapes, formats for a medium or touches files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

QUARANTINE_ROWS_SHOWN = 500
RAW_TEXT_SHOWN = 300

# (key in flows/diff.py's summary, the word a sentence says it with, what it means)
DIFF_ROWS = (
    ("added", "added", "papers new in this version"),
    ("removed", "removed", "papers of the parent no longer present"),
    ("reidentified", "re-identified", "papers whose paper_id was refined (the old id is kept in aliases)"),
    ("changed", "changed", "papers present in both with at least one field changed"),
    ("unchanged", "unchanged", "papers present in both, identical"),
)
_DIFF_KEYS = {k for k, _, _ in DIFF_ROWS}
INPUT_COLUMNS = ("path", "format", "records", "quarantined", "announced", "census_shortfall")
SUMMED_INPUT_COLUMNS = ("records", "quarantined", "announced", "census_shortfall")


def diff_summary(summary: Any, parent: Any = None) -> dict:
    """The diff against the parent: its known counts with their meaning, anything else, fields changed.

    `summary` is flows/diff.py's summary (None for a first version).
    >>> diff_summary({"added": 2, "changed": 1, "changed_fields": {"title": 1}}, "v1")["rows"][0]
    ('added', 'added', 2, 'papers new in this version')
    """
    fact: dict = {"parent": parent if isinstance(parent, str) and parent else None, "first": summary is None}
    if not isinstance(summary, dict):
        return fact | {"other": None if summary is None else summary, "rows": [], "extra": [], "fields": None}
    fields = summary.get("changed_fields")
    return fact | {
        "other": None,
        "rows": [(k, word, summary[k], meaning) for k, word, meaning in DIFF_ROWS if k in summary],
        "extra": [(k, _said(v)) for k, v in summary.items() if k not in _DIFF_KEYS and k != "changed_fields"],
        # Most changed first; None when the diff does not say (an older manifest), [] when nothing changed.
        "fields": (
            sorted(fields.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], int) else 0, str(kv[0])))
            if isinstance(fields, dict)
            else ([] if "changed_fields" in summary else None)
        ),
    }


def _said(value: Any) -> Any:
    """A diff count as a reader says it: the appearance rows {"old": 100112, "new": 100224} as "100,112 → 100,224"."""
    if isinstance(value, dict) and set(value) == {"old", "new"} and all(isinstance(v, int) for v in value.values()):
        return f"{value['old']:,} → {value['new']:,}"
    return value


def inputs_table(inputs: Any) -> dict:
    """The raw dumps a version was built from: columns in reading order (the sha256 last), rows, totals.

    `inputs` are manifest input rows (flows/prepare.py, PreparedFile.input_row). Counts a manifest written before
    the census lacks are simply absent columns.
    """
    if not inputs:
        return {"columns": [], "numeric": set(), "rows": [], "totals": None, "plain": []}
    if not all(isinstance(i, dict) for i in inputs):
        return {"columns": [], "numeric": set(), "rows": [], "totals": None, "plain": list(inputs)}
    present = [c for c in INPUT_COLUMNS if any(c in i for i in inputs)]
    # The 64-hex sha256 goes last: before the counts it pushed the census columns off a laptop screen.
    rest = [c for c in dict.fromkeys(k for i in inputs for k in i) if c not in present]
    columns = present + sorted(rest, key=lambda c: c == "sha256")
    summed = {
        c for c in SUMMED_INPUT_COLUMNS if c in columns and all(isinstance(i.get(c), int) for i in inputs)
    }
    totals = {c: sum(i[c] for i in inputs) for c in columns if c in summed} if summed else None
    numbers = {c for c in columns if all(_is_number(i[c]) for i in inputs if i.get(c) is not None)}
    return {
        "columns": columns,
        "numeric": numbers,  # right-aligned columns
        "rows": [[i.get(c) for c in columns] for i in inputs],
        "totals": totals,
        "files": len(inputs),
        "plain": [],
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def quarantine_reasons(quarantine: pl.DataFrame | pl.LazyFrame) -> list[dict]:
    """How many records each reason quarantined, with its share and the files it happened in; most first."""
    counted = (
        quarantine.lazy()
        .group_by("reason")
        .agg(pl.len().alias("records"), pl.col("source_path").n_unique().alias("files"))
        .sort(["records", "reason"], descending=[True, False], nulls_last=True)
        .collect()
    )
    total = int(counted["records"].sum())
    return [{**row, "share": row["records"] / total} for row in counted.iter_rows(named=True)]


@dataclass(frozen=True)
class QuarantineSample:
    """The quarantine table as the report shows it: its size, rows per reason, and its first rows."""

    total: int
    reasons: list[dict]  # quarantine_reasons: reason, records, share, files; most frequent first
    rows: list[dict]  # source_path, location, reason, raw_text (cut), in table order


def quarantine_sample(quarantine: pl.DataFrame | pl.LazyFrame) -> QuarantineSample:
    """Reasons and the first QUARANTINE_ROWS_SHOWN rows, their raw text cut at RAW_TEXT_SHOWN characters."""
    frame = quarantine.lazy()
    raw = pl.col("raw_text").fill_null("")
    rows = (
        frame.head(QUARANTINE_ROWS_SHOWN)
        .select(
            "source_path",
            "location",
            "reason",
            pl.when(raw.str.len_chars() > RAW_TEXT_SHOWN)
            .then(raw.str.slice(0, RAW_TEXT_SHOWN) + "…")
            .otherwise(raw)
            .alias("raw_text"),
        )
        .collect()
    )
    total = frame.select(pl.len()).collect().item()
    return QuarantineSample(total, quarantine_reasons(frame) if total else [], rows.to_dicts())
