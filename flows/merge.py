"""Merge: the prepared files' kept records -> the four published tables, written into a candidate.

Reads the per-file Parquet lazily and never holds the texts of the whole history at once: papers are chosen
on narrow columns (ids, ranks, dates, row numbers), then completed with their texts file by file and written
a row group at a time. Identity and precedence rules live in flows/identity.py; files are written by
flows/publish.py.

Over a base (latest, made with this code and --year from inputs this run still has byte for byte), only the
papers that new inputs touch (identity.touched_papers) are chosen and completed again; every other paper is
latest's row, copied in order. The result is byte for byte what merging every paper writes
(tests/test_merge.py), and the gate's diff then compares only the rebuilt papers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import polars as pl

from flows import identity, language, publish, store
from flows.extract import UnusableInput
from flows.fingerprint import run_fingerprint
from flows.parallel import prefetched
from flows.prepare import PreparedFile
from flows.readers.safety import bounded_links
from flows.record_checks import Moved, quarantined_offenders
from schemas.tables import APPEARANCES, LINKS, PAPERS, QUARANTINE, empty, polars_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Merged:
    """What merging left in the candidate: the papers that record checks moved to quarantine (by check), whether
    the tables are byte-identical to latest's, latest's papers as the gate reads them (store.parent_view), and
    which papers were rebuilt (the others were carried over from latest unchanged)."""

    moved: dict[str, Moved]
    same_as_latest: bool
    parent: pl.DataFrame | None
    rebuilt: pl.Series | None  # ids of the papers built from their records; None: every paper was


@dataclass(frozen=True)
class Base:
    """A published version this run may build on: made with this code and --year from inputs that this run
    still has, byte for byte. Its papers that no new input touches are carried over instead of rebuilt."""

    papers: Path  # its papers.parquet
    new_paths: frozenset[str]  # this run's inputs it was not made from


def base_version(
    dataset_dir: Path, latest: str | None, prepared: list[PreparedFile], year: int | None,
    runs_dir: Path | None = None,
) -> Base | None:
    """latest as a Base, or None when a full merge is needed (another code or --year, an input changed or gone).

    latest qualifies when this code, run on latest's own inputs, gives latest: it published latest, or it was
    run on them since and gave the same content (remembered in runs_dir).
    """
    if latest is None:
        return None
    inputs = store.read_manifest(dataset_dir, latest).get("inputs", [])
    own_run = run_fingerprint([(i["path"], i["sha256"]) for i in inputs], year)
    if not store.made_by(dataset_dir, latest, own_run, runs_dir):
        return None
    now = {p.path: (p.sha256, p.mtime_day) for p in prepared}
    if any(now.get(i["path"]) != (i["sha256"], i.get("dated_by_file_time")) for i in inputs):
        return None
    new_paths = frozenset(now) - {i["path"] for i in inputs}
    return Base(dataset_dir / latest / "papers.parquet", new_paths) if new_paths else None


def merged(
    candidate: publish.Candidate, prepared: list[PreparedFile], dataset_dir: Path, latest: str | None,
    row_group_size: int, year: int | None = None, runs_dir: Path | None = None,
) -> Merged:
    """The four tables written into the candidate, papers failing a blocking record check moved to quarantine,
    and the result compared with latest."""
    # Read once: the merge needs the parent's ids and aliases, the gate's drift checks the rest of this view.
    parent = store.parent_view(dataset_dir, latest) if latest else None
    rebuilt = merged_candidate(candidate, prepared,
                               parent.select("paper_id", "aliases") if parent is not None else None,
                               row_group_size, base_version(dataset_dir, latest, prepared, year, runs_dir))
    moved = quarantined_offenders(candidate, row_group_size)
    return Merged(moved, publish.same_as_latest(dataset_dir, candidate), parent, rebuilt)


def merged_candidate(
    candidate: publish.Candidate,
    prepared: list[PreparedFile],
    parent_ids: pl.DataFrame | None,
    row_group_size: int,
    base: Base | None = None,
) -> pl.Series | None:
    """Write papers, appearances, links and quarantine into the candidate (candidate.rows() counts them);
    returns the ids of the papers built from their records, or None when every paper was.

    With a `base` (and parent_ids, its papers' ids and aliases), only the papers the new inputs touch are
    chosen and completed again; the others are copied from the base, in the same order, to the same bytes.
    """
    quarantine = (
        pl.scan_parquet([p.quarantine_path for p in prepared]).collect() if prepared else empty(QUARANTINE)
    )
    with_records = [p for p in prepared if p.records]
    if not with_records:
        reasons = "; ".join(sorted({f"{r['source_path']}: {r['reason']}" for r in quarantine.iter_rows(named=True)}))
        raise UnusableInput(f"no usable records ({reasons or 'nothing readable'})")
    # Every column but the texts, read once: ~0.2 KB a record, where the texts are ~2.4 KB.
    kept = pl.scan_parquet([p.records_path for p in with_records], row_index_name="row")
    # Whether each record has an abstract, in a streamed pass of its own: read along with the narrow columns,
    # whole row groups of abstracts were held (2.2 GB peak at 3M records; 1.9 GB apart).
    has_abstract = kept.select(pl.col("abstract").is_not_null().alias("has_abstract")).collect(engine="streaming")
    unided = kept.select(pl.exclude(*identity.TEXTS)).collect().hstack(has_abstract)
    # Over a base, what identifying the new records can change is decided by those sharing their title keys:
    # kept (a few rows) so that the whole frame before identification need not be.
    is_new = pl.col("source_path").is_in(sorted(base.new_paths)) if base is not None else None
    sharing = identity.sharing_a_title_key(unided, is_new) if is_new is not None else None
    records = identity.with_paper_ids(unided.lazy()).collect().lazy()
    del unided
    # URLs past the sane bound (a data: URI, a page glued to a link) are not published as links.
    links, _too_long = bounded_links(identity.links_table(records).collect())
    over_base = None
    if base is not None and parent_ids is not None:
        over_base = _papers_over_base(records.collect(), sharing, is_new, links, parent_ids, with_records, base,
                                      row_group_size)
    if over_base is not None:
        rebuilt, papers = over_base
    else:
        chosen = identity.papers_chosen(records, links.lazy(), parent_ids).collect()
        rebuilt, papers = None, _papers_by_file(chosen, with_records)
    # papers.parquet is written in a thread (Polars and pyarrow's encoder release the GIL) while the three
    # other tables are built and written on the other core.
    with ThreadPoolExecutor(1, thread_name_prefix="write-papers") as pool:
        # The next row group of papers is read (and joined with its texts) while the writer encodes this one.
        writing = pool.submit(publish.write_table, candidate, "papers", prefetched(papers), PAPERS, row_group_size)
        appearances = identity.appearances_table(records).collect()
        publish.write_table(candidate, "appearances", [appearances], APPEARANCES, row_group_size)
        publish.write_table(candidate, "links", [links], LINKS, row_group_size)
        publish.write_table(candidate, "quarantine", [quarantine], QUARANTINE, row_group_size)
        writing.result()
    return rebuilt


def _papers_over_base(
    records: pl.DataFrame, sharing: pl.DataFrame, is_new: pl.Expr, links: pl.DataFrame, parent: pl.DataFrame,
    files: list[PreparedFile], base: Base, row_group_size: int,
) -> tuple[pl.Series, Iterator[pl.DataFrame]] | None:
    """The papers table as a full merge would write it, rebuilding only the touched papers (the rest are the
    base's rows, read a row group at a time), with the ids of those rebuilt; None when the base's row order is
    not the one expected."""
    touched = identity.touched_papers(records, sharing, is_new, parent)
    order = identity.title_rows(records.lazy()).collect()
    carried = ~order["paper_id"].is_in(touched.implode())
    # Carried papers keep their title's sighting, and rows only shift by whole inserted files: their order in
    # the base must be their order here. A base that says otherwise (written by other code) is not reused.
    from_base = parent["paper_id"].is_in(order["paper_id"].filter(carried).implode())
    if not parent["paper_id"].filter(from_base).equals(order["paper_id"].filter(carried)):
        log.warning("%s is not in the expected row order; rebuilding every paper", base.papers)
        return None
    log.info("papers: %s rebuilt, %s carried over from %s", f"{touched.len():,}", f"{int(carried.sum()):,}",
             base.papers.parent.name)
    in_touched = pl.col("paper_id").is_in(touched.implode())
    chosen = identity.papers_chosen(records.lazy().filter(in_touched), links.lazy().filter(in_touched), parent)
    rebuilt = list(_papers_by_file(chosen.collect(), files))
    fresh = pl.concat(rebuilt).select(PAPERS.names).cast(dict(polars_schema(PAPERS))) if rebuilt else None
    rows = _interleaved(order.with_columns(carried.alias("carried")), from_base, fresh, base.papers, row_group_size)
    return touched, rows


def _interleaved(
    order: pl.DataFrame, from_base: pl.Series, fresh: pl.DataFrame | None, base: Path, row_group_size: int
) -> Iterator[pl.DataFrame]:
    """Papers in `order`: carried ones from the base file (in its order, `from_base` marking them), the others
    from `fresh`, row_group_size rows of `order` at a time.

    Polars reads the base a row group at a time (pyarrow took 2-3x longer), and its strings are views: filtering
    and reordering a row group of carried papers copies no text (pyarrow's filter + take copied ~600 MB of
    text per 100k papers).
    """
    batches = (pl.scan_parquet(base).slice(at, row_group_size).collect()
               for at in range(0, from_base.len(), row_group_size))
    waiting, waiting_rows, offset = [], 0, 0
    for part in order.iter_slices(row_group_size):
        need, rows = int(part["carried"].sum()), []
        while waiting_rows < need:
            batch = next(batches)
            keep = from_base.slice(offset, batch.height)
            batch = batch if keep.all() else batch.filter(keep)
            waiting.append(batch)
            waiting_rows += batch.height
            offset += keep.len()
        if need:
            pool = pl.concat(waiting, rechunk=False)
            rows, waiting, waiting_rows = [pool.head(need)], [pool.slice(need)], waiting_rows - need
        if need == part.height:  # no rebuilt paper here: the carried rows are already in order
            yield rows[0]
            continue
        rows.append(fresh.join(part.select("paper_id"), on="paper_id"))
        yield part.select("paper_id").join(pl.concat(rows), on="paper_id", how="left", maintain_order="left")


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
