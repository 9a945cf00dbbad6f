"""Identity: cleaned records -> one row per paper, one appearance per sighting, one link per (paper, URL).

Pure Polars over frames that `flows.clean.clean_records` produced; no I/O. Language detection is passed in
as a function so that this module stays free of process pools.

Identity: `arxiv:<version-less id>` when any record of the paper gives an id, otherwise `title:<16 hex>` from
the normalised title key. A title-only record whose key matches exactly one id-bearing record's key joins that
paper, whichever arrived first. When that re-identifies a paper published earlier under its title id, the old
id is kept in `aliases`.

Field precedence within a paper: FIELD_PRECEDENCE below, which the dataset card shows to analysts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import polars as pl

from flows.language import language_expr_input
from flows.readers.registry import source_ranks

LanguageDetector = Callable[[pl.Series], pl.Series]


def title_hash(keys: pl.Series) -> pl.Series:
    """Stable 16-hex digest of each title key (Polars' own hash is not stable across releases).

    >>> title_hash(pl.Series(["art v auto regressive"])).item()  # same in every run and release
    """
    distinct = keys.drop_nulls().unique()
    # A Series of digests beside the distinct keys, not a dict: Polars would turn an 850k-entry dict back into
    # two Series first (a third of the time).
    digests = pl.Series([hashlib.blake2b(k.encode(), digest_size=8).hexdigest() for k in distinct.to_list()],
                        dtype=pl.String)
    return keys.replace_strict(distinct, digests, default=None, return_dtype=pl.String)


# Lower ranks are trusted more for titles and authors: arXiv's own sources first, scraped pages last. Each reader
# declares its rank beside its name (flows/readers/registry.py lists them), so a renamed reader keeps its rank.
SOURCE_RANK: dict[str, int] = source_ranks()
# A source_format no registered reader gives (a hand-built frame) ranks after every reader's.
UNRANKED = max(SOURCE_RANK.values()) + 1

# Which sighting gives each field of a paper, as (field, rule): papers_chosen implements it, the card renders it.
FIELD_PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("title", "arXiv's own sources (listing, e-mail, feed) over HF daily JSON over scraped HF pages; within those, "
              "the highest arXiv version shown, then the newest digest — so a replacement's revised title wins"),
    ("abstract, comments, journal_ref, doi", "the same order, first non-null"),
    ("authors", "the same source order (arXiv's metadata beats a scraped spelling)"),
    ("categories", "the union over all sightings (a cross-listing names every category)"),
    ("flags", "the chosen sighting's, with `abstract_missing` only when no sighting has an abstract"),
)


def title_id() -> pl.Expr:
    """`title:<16 hex>` of each record's title key: the paper's id when no sighting gives an arXiv id."""
    return (pl.lit("title:") + pl.col("title_key").map_batches(title_hash, return_dtype=pl.String)).alias("title_id")


def with_paper_ids(records: pl.LazyFrame) -> pl.LazyFrame:
    """Add `paper_id`: the arXiv id when the record or a same-titled record has one, else the title id."""
    # Title keys that point to exactly one arXiv id: title-only sightings of those papers join the id.
    key_to_id = (
        records.filter(pl.col("arxiv_id").is_not_null() & (pl.col("title_key") != ""))
        .group_by("title_key")
        .agg(pl.col("arxiv_id").unique().alias("ids"))
        .filter(pl.col("ids").list.len() == 1)
        .select("title_key", pl.col("ids").list.first().alias("id_by_title"))
    )
    return (
        records.join(key_to_id, on="title_key", how="left")
        .with_columns(pl.coalesce("arxiv_id", "id_by_title").alias("arxiv_id"))
        .with_columns(
            pl.when(pl.col("arxiv_id").is_not_null())
            .then(pl.lit("arxiv:") + pl.col("arxiv_id"))
            .otherwise(pl.col("title_id"))
            .alias("paper_id")
        )
        .drop("id_by_title")
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


# The text columns of a paper: gigabytes at a million papers, so they are chosen by row and gathered apart.
TEXTS = ("title", "title_raw", "abstract", "abstract_raw")


# Precedence: trusted source, highest version, newest digest; ties broken by the row (file, position), so the
# same inputs always choose the same sighting. Only narrow columns are sorted; lists and texts are taken
# afterwards from the chosen rows.
_BY_PREFERENCE = (
    ["paper_id", "source_rank", "arxiv_version", "digest_date", "row"],
    {"descending": [False, False, True, True, True], "nulls_last": True},
)


def _source_rank() -> pl.Expr:
    return pl.col("source_format").replace_strict(SOURCE_RANK, default=UNRANKED, return_dtype=pl.Int32).alias(
        "source_rank"
    )


def title_rows(records: pl.LazyFrame) -> pl.LazyFrame:
    """paper_id and the row its title comes from, ordered by that row: the papers table's row order.

    The same choice as papers_chosen's `title_row`, without the other fields.
    """
    return (
        records.select("paper_id", "row", "source_format", "arxiv_version", "digest_date")
        .with_columns(_source_rank())
        .sort(_BY_PREFERENCE[0], **_BY_PREFERENCE[1])
        .group_by("paper_id")
        .agg(pl.col("row").first().alias("title_row"))
        .sort("title_row")
    )


def sharing_a_title_key(records: pl.DataFrame, is_new: pl.Expr) -> pl.DataFrame:
    """The records `is_new` selects, and the others whose (non-empty) title key one of them has."""
    keys = records.filter(is_new & (pl.col("title_key") != ""))["title_key"].unique()
    return records.filter(is_new | pl.col("title_key").is_in(keys.implode()))


def touched_papers(ided: pl.DataFrame, sharing: pl.DataFrame, is_new: pl.Expr, parent: pl.DataFrame) -> pl.Series:
    """Ids of the papers that adding the `is_new` records can make differ from `parent`'s (paper_id, aliases).

    `ided` are every record with its paper_id (with_paper_ids); `sharing` is sharing_a_title_key of the records
    before with_paper_ids. A paper is touched when a new record joins it, when a record changes paper (a new
    arXiv id for a title key that old title-only records share; the papers it leaves are touched too), when its
    aliases would change (a title id of one of its records was published since), or when the parent does not
    hold it (never published, or moved to quarantine by a record check). Every other paper has the records,
    and so the row, it had in the parent. Example: one new digest re-sighting 100 known papers and bringing 12
    new ones -> those 112 ids.
    """
    new_records = ided.filter(is_new)
    keys = new_records.filter(pl.col("title_key") != "")["title_key"].unique()
    shares_key = pl.col("title_key").is_in(keys.implode())
    # The old records sharing those keys, identified among themselves: the ids the parent gave them.
    old_ids_of_shared = with_paper_ids(sharing.lazy().filter(~is_new)).select("paper_id").collect().to_series()
    known = pl.concat([parent["paper_id"], parent["aliases"].explode()]).drop_nulls().unique()
    new_alias = (
        ided.filter(pl.col("title_id").is_in(known.implode()) & (pl.col("title_id") != pl.col("paper_id")))
        .select("paper_id", "title_id")
        .join(
            parent.select("paper_id", pl.col("aliases").alias("title_id")).explode("title_id"),
            on=["paper_id", "title_id"], how="anti",
        )
    )
    unpublished = ided.select("paper_id").unique().join(parent.select("paper_id"), on="paper_id", how="anti")
    return pl.concat([
        new_records["paper_id"],
        ided.filter(shares_key)["paper_id"],
        old_ids_of_shared,
        new_alias["paper_id"],
        unpublished["paper_id"],
    ]).unique().sort()


def papers_chosen(records: pl.LazyFrame, links: pl.LazyFrame, parent: pl.DataFrame | None = None) -> pl.LazyFrame:
    """One row per paper without its texts: fields by precedence, dates and counts, and the rows to take the
    title (`title_row`) and the abstract (`abstract_row`) from; papers ordered by their title's row.

    `records` carry a unique `row` index, `has_abstract`, and the language of their own title + abstract
    (flows/prepare.py); they need no texts.
    `parent` is the previous version's (paper_id, aliases): a title id published there that now belongs to an
    arXiv paper becomes that paper's alias, and aliases once published are kept.
    """
    parent_aliases = (
        parent.select("paper_id", pl.col("aliases").alias("parent_aliases"))
        if parent is not None
        else pl.DataFrame(schema={"paper_id": pl.String, "parent_aliases": pl.List(pl.String)})
    )
    known = pl.concat([parent_aliases["paper_id"], parent_aliases["parent_aliases"].explode()]).drop_nulls()
    # Decided per record, outside the aggregation: a literal inside agg() would be repeated for every group.
    published_title_id = pl.when(pl.col("title_id").is_in(known.unique().implode())).then(pl.col("title_id"))
    by_preference = _BY_PREFERENCE
    ranked = records.with_columns(_source_rank())
    core = (
        ranked.select(
            "paper_id", "row", "source_rank", "arxiv_version", "digest_date", "has_abstract",
            published_title_id.alias("published_title_id"),
        )
        .sort(by_preference[0], **by_preference[1])
        .group_by("paper_id")
        .agg(
            pl.col("row").first().alias("title_row"),
            pl.col("row").filter("has_abstract").first().alias("abstract_row"),
            pl.col("digest_date").min().alias("first_seen"),
            pl.col("digest_date").max().alias("last_seen"),
            pl.len().cast(pl.Int32).alias("n_appearances"),
            pl.col("published_title_id").drop_nulls().unique().sort().alias("aliases"),
        )
        .join(
            records.select("row", "arxiv_id", "flags", pl.col("language").alias("first_language")),
            left_on="title_row", right_on="row", how="left",
        )
    )

    def first_present(columns: list[str], present: pl.Expr, agg: list[pl.Expr]) -> pl.LazyFrame:
        """Per paper, from the sightings where `present` holds, in order of preference."""
        return (
            ranked.filter(present)
            .select("paper_id", "row", "source_rank", "arxiv_version", "digest_date", *columns)
            .sort(by_preference[0], **by_preference[1])
            .group_by("paper_id")
            .agg(agg)
        )

    extras = [
        first_present(["authors", "authors_raw"], pl.col("authors").list.len() > 0, [
            pl.col(c).sort_by("source_rank", maintain_order=True).first() for c in ("authors", "authors_raw")
        ]),
        first_present(["categories"], pl.col("categories").list.len() > 0, [
            pl.col("categories").explode().drop_nulls().unique(maintain_order=True)
        ]),
        first_present(
            ["published_at", "comments", "journal_ref", "doi"],
            pl.any_horizontal(pl.col("published_at", "comments", "journal_ref", "doi").is_not_null()),
            [pl.col("published_at").drop_nulls().min()]
            + [pl.col(c).drop_nulls().first() for c in ("comments", "journal_ref", "doi")],
        ),
    ]
    papers = core
    for extra in extras:
        papers = papers.join(extra, on="paper_id", how="left")
    first_url = lambda kind: (  # noqa: E731
        links.filter(pl.col("kind") == kind)
        .group_by("paper_id")
        .agg(pl.col("url").first().alias(f"{kind}_url"))
    )
    papers = (
        papers.join(first_url("code"), on="paper_id", how="left")
        .join(first_url("project"), on="paper_id", how="left")
        .join(parent_aliases.lazy(), on="paper_id", how="left")
        .with_columns(
            pl.col("authors", "authors_raw").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("categories").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
    )
    # List operations cost ~1 s per million rows each, and these two fixes concern few papers: only those rows.
    # The chosen sighting's flags, but "abstract_missing" only when no sighting had one.
    flags_off = pl.col("flags").list.contains("abstract_missing") != pl.col("abstract_row").is_null()
    fixed_flags = (
        pl.col("flags")
        .list.set_difference(pl.lit(["abstract_missing"]))
        .list.concat(
            pl.when(pl.col("abstract_row").is_null())
            .then(pl.lit(["abstract_missing"]))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        )
        .list.sort()
    )
    has_aliases = (pl.col("aliases").list.len() > 0) | pl.col("parent_aliases").is_not_null()
    merged_aliases = (
        pl.col("aliases")
        .list.concat(pl.col("parent_aliases").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .list.unique()
        .list.set_difference(pl.concat_list(pl.col("paper_id")))
        .list.sort()
    )
    papers = pl.concat([
        papers.filter(~flags_off & ~has_aliases),
        papers.filter(flags_off & ~has_aliases).with_columns(fixed_flags),
        papers.filter(has_aliases).with_columns(pl.when(flags_off).then(fixed_flags).otherwise("flags"), merged_aliases),
    ])
    return papers.select(
        "paper_id", "arxiv_id", "title_row", "abstract_row", "authors", "authors_raw", "categories", "first_language",
        "published_at", "comments", "journal_ref", "doi", "first_seen", "last_seen", "n_appearances", "flags",
        "aliases", "code_url", "project_url",
    ).sort("title_row")


def papers_with_texts(chosen: pl.DataFrame, texts: pl.DataFrame, detect: LanguageDetector) -> pl.DataFrame:
    """Chosen papers completed with their texts, taken from `texts` (row + TEXTS) by title_row / abstract_row.

    A paper whose title and abstract come from two sightings was never labelled as one text: `detect` labels
    it now; every other paper keeps the label of its title's sighting.
    """
    titles = texts.select(pl.col("row").alias("title_row"), "title", "title_raw")
    abstracts = texts.select(pl.col("row").alias("abstract_row"), "abstract", "abstract_raw")
    papers = chosen.join(titles, on="title_row", how="left", maintain_order="left").join(
        abstracts, on="abstract_row", how="left", maintain_order="left"
    )
    mixed = pl.col("abstract_row").is_not_null() & (pl.col("abstract_row") != pl.col("title_row"))
    return papers.with_columns(
        pl.when(mixed)
        .then(pl.when(mixed).then(language_expr_input("title", "abstract")).map_batches(detect, return_dtype=pl.String))
        .otherwise(pl.col("first_language"))
        .alias("language")
    ).drop("title_row", "abstract_row", "first_language")


def papers_table(
    records: pl.LazyFrame,
    links: pl.LazyFrame,
    detect: LanguageDetector,
    parent: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """One row per paper, in memory (the pipeline streams the same two steps file by file, see flows/merge.py)."""
    records = records.with_row_index("row").with_columns(pl.col("abstract").is_not_null().alias("has_abstract"))
    chosen = papers_chosen(records, links, parent).collect()
    texts = records.select("row", *TEXTS).collect()
    return papers_with_texts(chosen, texts, detect).lazy()
