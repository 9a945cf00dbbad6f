"""Identity: cleaned records -> one row per paper, one appearance per sighting, one link per (paper, URL).

Pure Polars over frames that `flows.clean.clean_records` produced; no I/O. Language detection is passed in
as a function so that this module stays free of process pools.

Identity: `arxiv:<version-less id>` when any record of the paper gives an id, otherwise `title:<16 hex>` from
the normalised title key. A title-only record whose key matches exactly one id-bearing record's key joins that
paper. Field precedence within a paper: the newest sighting (latest digest date, then the later position) wins
for title and abstract; the first non-empty list wins for authors and categories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import polars as pl

LanguageDetector = Callable[[pl.Series], pl.Series]


def title_hash(keys: pl.Series) -> pl.Series:
    """Stable 16-hex digest of each title key (Polars' own hash is not stable across releases).

    >>> title_hash(pl.Series(["art v auto regressive"])).item()  # same in every run and release
    """
    distinct = keys.drop_nulls().unique()
    digests = {k: hashlib.blake2b(k.encode(), digest_size=8).hexdigest() for k in distinct.to_list()}
    return keys.replace_strict(digests, default=None, return_dtype=pl.String)


def with_paper_ids(records: pl.LazyFrame) -> pl.LazyFrame:
    """Add `paper_id`: the arXiv id when the record or a same-titled record has one, else the title hash."""
    # Title keys that point to exactly one arXiv id: title-only sightings of those papers join the id.
    key_to_id = (
        records.filter(pl.col("arxiv_id").is_not_null())
        .group_by("title_key")
        .agg(pl.col("arxiv_id").unique().alias("ids"))
        .filter(pl.col("ids").list.len() == 1)
        .select("title_key", pl.col("ids").list.first().alias("id_by_title"))
    )
    return (
        records.join(key_to_id, on="title_key", how="left")
        .with_columns(
            pl.coalesce("arxiv_id", "id_by_title").alias("arxiv_id"),
            pl.col("title_key").map_batches(title_hash, return_dtype=pl.String).alias("title_hash"),
        )
        .with_columns(
            pl.when(pl.col("arxiv_id").is_not_null())
            .then(pl.lit("arxiv:") + pl.col("arxiv_id"))
            .otherwise(pl.lit("title:") + pl.col("title_hash"))
            .alias("paper_id")
        )
        .drop("id_by_title", "title_hash")
    )


def appearances_table(records: pl.LazyFrame) -> pl.LazyFrame:
    """One row per sighting of a paper in a digest."""
    return records.select(
        "paper_id",
        "digest_date",
        "digest_date_source",
        "source_format",
        "source_path",
        "source_sha256",
        "position",
        "line",
        "section",
    ).sort("source_path", "position")


def links_table(records: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (paper, canonical URL), from every sighting's URLs; the first raw form seen is kept."""
    return (
        records.select("paper_id", "urls")
        .explode("urls")
        .drop_nulls("urls")
        .unnest("urls")
        .unique(subset=["paper_id", "url"], keep="first", maintain_order=True)
        .select("paper_id", "url", "kind", "host", "url_raw")
        .sort("paper_id", "url")
    )


def papers_table(records: pl.LazyFrame, links: pl.LazyFrame, detect: LanguageDetector) -> pl.LazyFrame:
    """One row per paper: fields from the preferred sighting, dates and counts over all sightings."""
    newest_first = records.sort(
        ["paper_id", "digest_date", "position"], descending=[False, True, True], nulls_last=True
    )
    first_non_empty = lambda c: pl.col(c).filter(pl.col(c).list.len() > 0).first()  # noqa: E731
    papers = newest_first.group_by("paper_id").agg(
        pl.col("arxiv_id").drop_nulls().first(),
        pl.col("title").first(),
        pl.col("title_raw").first(),
        pl.col("abstract").drop_nulls().first(),
        pl.col("abstract_raw").drop_nulls().first(),
        first_non_empty("authors"),
        first_non_empty("categories"),
        pl.col("published_at").drop_nulls().min(),
        pl.col("comments").drop_nulls().first(),
        pl.col("journal_ref").drop_nulls().first(),
        pl.col("doi").drop_nulls().first(),
        pl.col("digest_date").min().alias("first_seen"),
        pl.col("digest_date").max().alias("last_seen"),
        pl.len().cast(pl.Int32).alias("n_appearances"),
        pl.col("flags").first(),
    )
    first_url = lambda kind: (  # noqa: E731
        links.filter(pl.col("kind") == kind)
        .group_by("paper_id")
        .agg(pl.col("url").first().alias(f"{kind}_url"))
    )
    papers = (
        papers.join(first_url("code"), on="paper_id", how="left")
        .join(first_url("project"), on="paper_id", how="left")
        .with_columns(
            pl.col("authors").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("categories").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            # The chosen sighting's flags, but "abstract_missing" only when no sighting had one.
            pl.col("flags")
            .list.set_difference(pl.lit(["abstract_missing"]))
            .list.concat(
                pl.when(pl.col("abstract").is_null())
                .then(pl.lit(["abstract_missing"]))
                .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            )
            .list.sort(),
            pl.lit([], dtype=pl.List(pl.String)).alias("aliases"),
            pl.concat_str(
                pl.col("title"), pl.lit(". "), pl.col("abstract").fill_null(""), ignore_nulls=True
            ).alias("language_text"),
        )
    )
    return (
        papers.with_columns(pl.col("language_text").map_batches(detect, return_dtype=pl.String).alias("language"))
        .drop("language_text")
        .sort("paper_id")
    )
