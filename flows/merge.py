"""Merge: the prepared files' kept records -> the four published tables, written into a candidate.

Reads the per-file Parquet lazily and never holds the texts of the whole history at once: papers are chosen
on narrow columns (ids, ranks, dates, row numbers), then completed with their texts file by file and written
a row group at a time. Identity and precedence rules live in flows/identity.py; files are written by
flows/publish.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import polars as pl

from flows import identity, language, publish, store
from flows.extract import UnusableInput
from flows.prepare import PreparedFile
from flows.readers.safety import bounded_links
from flows.record_checks import Moved, quarantined_offenders
from schemas.tables import APPEARANCES, LINKS, PAPERS, QUARANTINE, empty


@dataclass(frozen=True)
class Merged:
    """What merging left in the candidate: the papers that record checks moved to quarantine (by check), whether
    the tables are byte-identical to latest's, and latest's papers as the gate reads them (store.parent_view)."""

    moved: dict[str, Moved]
    same_as_latest: bool
    parent: pl.DataFrame | None


def merged(
    candidate: publish.Candidate, prepared: list[PreparedFile], dataset_dir: Path, latest: str | None,
    row_group_size: int,
) -> Merged:
    """The four tables written into the candidate, papers failing a blocking record check moved to quarantine,
    and the result compared with latest."""
    # Read once: the merge needs the parent's ids and aliases, the gate's drift checks the rest of this view.
    parent = store.parent_view(dataset_dir, latest) if latest else None
    merged_candidate(candidate, prepared, parent.select("paper_id", "aliases") if parent is not None else None,
                     row_group_size)
    moved = quarantined_offenders(candidate, row_group_size)
    return Merged(moved, publish.same_as_latest(dataset_dir, candidate), parent)


def merged_candidate(
    candidate: publish.Candidate,
    prepared: list[PreparedFile],
    parent_ids: pl.DataFrame | None,
    row_group_size: int,
) -> None:
    """Write papers, appearances, links and quarantine into the candidate (candidate.rows() counts them)."""
    quarantine = (
        pl.scan_parquet([p.quarantine_path for p in prepared]).collect() if prepared else empty(QUARANTINE)
    )
    with_records = [p for p in prepared if p.records]
    if not with_records:
        reasons = "; ".join(sorted({f"{r['source_path']}: {r['reason']}" for r in quarantine.iter_rows(named=True)}))
        raise UnusableInput(f"no usable records ({reasons or 'nothing readable'})")
    # Every column but the texts, read once: ~0.2 KB a record, where the texts are ~2.4 KB.
    records = identity.with_paper_ids(
        pl.scan_parquet([p.records_path for p in with_records], row_index_name="row")
        .with_columns(pl.col("abstract").is_not_null().alias("has_abstract"))
        .select(pl.exclude(*identity.TEXTS))
    ).collect().lazy()
    # URLs past the sane bound (a data: URI, a page glued to a link) are not published as links.
    links, _too_long = bounded_links(identity.links_table(records).collect())
    chosen = identity.papers_chosen(records, links.lazy(), parent_ids).collect()
    publish.write_table(candidate, "papers", _papers_by_file(chosen, with_records), PAPERS, row_group_size)
    del chosen
    appearances = identity.appearances_table(records).collect()
    publish.write_table(candidate, "appearances", [appearances], APPEARANCES, row_group_size)
    publish.write_table(candidate, "links", [links], LINKS, row_group_size)
    publish.write_table(candidate, "quarantine", [quarantine], QUARANTINE, row_group_size)


def _papers_by_file(chosen: pl.DataFrame, files: list[PreparedFile]) -> Iterator[pl.DataFrame]:
    """The chosen papers with their texts, in title-row order, reading one file's texts at a time."""
    starts = [0, *accumulate(p.records for p in files)]
    # An abstract chosen from another file than the title (rare: the title's sighting had none) is fetched
    # up front, so each file's papers can be completed while only that file is read.
    both = chosen.filter(pl.col("abstract_row").is_not_null())
    elsewhere = _file_index(both["abstract_row"], starts) != _file_index(both["title_row"], starts)
    foreign = both["abstract_row"].filter(elsewhere)
    foreign_texts = (
        pl.scan_parquet([p.records_path for p in files], row_index_name="row")
        .filter(pl.col("row").is_in(foreign.implode()))
        .select("row", *identity.TEXTS)
        .collect()
        if foreign.len()
        else None
    )
    for i, prepared in enumerate(files):
        lo, hi = starts[i], starts[i + 1]
        part = chosen.filter(pl.col("title_row").is_between(lo, hi, closed="left"))
        if part.is_empty():
            continue
        texts = pl.read_parquet(prepared.records_path, columns=list(identity.TEXTS)).with_row_index("row", offset=lo)
        texts = texts.with_columns(pl.col("row").cast(chosen.schema["title_row"]))
        if foreign_texts is not None:
            texts = pl.concat([texts, foreign_texts.cast(texts.schema)])
        yield identity.papers_with_texts(part, texts, language.detected_languages)


def _file_index(rows: pl.Series, starts: list[int]) -> pl.Series:
    """Which file each global row number falls in (starts: each file's first row, then the total)."""
    return pl.Series(starts, dtype=pl.Int64).search_sorted(rows.cast(pl.Int64), side="right") - 1
