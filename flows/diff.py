"""Diff: what changed between two versions' papers tables (added, removed, re-identified, changed fields).

Pure Polars; no I/O. A paper whose old id appears in a new paper's `aliases` is re-identified, not removed + added.
"""

from __future__ import annotations

import polars as pl

# Columns whose change makes a paper "changed"; bookkeeping columns (dates seen, counts) are reported apart.
COMPARED = (
    "arxiv_id",
    "title",
    "abstract",
    "authors",
    "categories",
    "language",
    "code_url",
    "project_url",
    "published_at",
    "flags",
)


def comparable(papers: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """paper_id, aliases and a digest of each compared column (null stays null): what a diff needs to compare.

    Digests keep a diff of a million papers in memory without their texts; both sides of one diff are hashed
    by the same Polars in the same process, so equal values give equal digests.
    """
    names = papers.collect_schema().names()
    digests = [pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash(seed=0)).alias(c) for c in COMPARED if c in names]
    return papers.lazy().select("paper_id", *(["aliases"] if "aliases" in names else []), *digests).collect()


def papers_diff(old: pl.DataFrame | pl.LazyFrame, new: pl.DataFrame | pl.LazyFrame) -> dict:
    """Added / removed / re-identified / changed paper ids, with the changed fields per paper.

    >>> papers_diff(old, new)["summary"]  # {"added": 3, "removed": 0, "reidentified": 0, "changed": 1, ...}
    """
    old, new = comparable(old), comparable(new)
    alias_map = (
        new.select("paper_id", "aliases").explode("aliases").drop_nulls("aliases")
        .rename({"paper_id": "new_id", "aliases": "paper_id"})
    )
    old_ids = old.select("paper_id")
    reidentified = old_ids.join(new.select("paper_id"), on="paper_id", how="anti").join(
        alias_map, on="paper_id", how="inner"
    )
    removed = old_ids.join(new.select("paper_id"), on="paper_id", how="anti").join(
        reidentified, on="paper_id", how="anti"
    )
    added = new.select("paper_id").join(old_ids, on="paper_id", how="anti").join(
        reidentified.select(pl.col("new_id").alias("paper_id")), on="paper_id", how="anti"
    )
    # Compare fields on ids present in both (following aliases to the new id).
    old_keyed = old.join(reidentified, on="paper_id", how="left").with_columns(
        pl.coalesce("new_id", "paper_id").alias("paper_id")
    )
    cols = [c for c in COMPARED if c in old.columns and c in new.columns]
    both = old_keyed.select("paper_id", *cols).join(
        new.select("paper_id", *cols), on="paper_id", how="inner", suffix="_new"
    )
    changed_flags = [(~pl.col(c).eq_missing(pl.col(f"{c}_new"))).alias(c) for c in cols]
    changes = both.select("paper_id", *changed_flags)
    changed = (
        changes.select(
            "paper_id",
            pl.concat_list([pl.when(pl.col(c)).then(pl.lit(c)) for c in cols]).list.drop_nulls().alias("fields"),
        )
        .filter(pl.col("fields").list.len() > 0)
        .sort("paper_id")
    )
    field_counts = {c: int(changes[c].sum()) for c in cols if changes.height and changes[c].sum()}
    return {
        "summary": {
            "added": added.height,
            "removed": removed.height,
            "reidentified": reidentified.height,
            "changed": changed.height,
            "unchanged": both.height - changed.height,
            "changed_fields": field_counts,
        },
        "added": sorted(added["paper_id"].to_list()),
        "removed": sorted(removed["paper_id"].to_list()),
        "reidentified": [
            {"old": o, "new": n} for o, n in sorted(zip(reidentified["paper_id"], reidentified["new_id"]))
        ],
        "changed": [{"paper_id": p, "fields": f} for p, f in zip(changed["paper_id"], changed["fields"].to_list())],
    }
