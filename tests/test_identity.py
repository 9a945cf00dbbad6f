"""Identity: one row per paper across formats, field precedence, aliases when identity is refined."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows import identity
from flows.diff import papers_diff
from flows.prepare import labelled_records
from flows.readers.base import records_frame


def english(texts: pl.Series) -> pl.Series:
    """A stand-in language detector for tests that are not about language."""
    return pl.Series(["en"] * texts.len(), dtype=pl.String)


def raw(**fields) -> dict:
    row = {
        "source_path": "d.txt",
        "source_sha256": "0" * 64,
        "source_format": "hf_papers_text",
        "position": 1,
        "line": 1,
        "digest_date": dt.date(2025, 3, 13),
        "title_raw": "A Title",
        "abstract_raw": "An abstract that says something.",
    }
    return row | fields


def tables(rows: list[dict], parent: pl.DataFrame | None = None):
    records = identity.with_paper_ids(labelled_records(records_frame(rows)).lazy()).collect()
    links = identity.links_table(records.lazy()).collect()
    papers = identity.papers_table(records.lazy(), links.lazy(), english, parent).collect()
    return papers, identity.appearances_table(records.lazy()).collect(), links


def test_title_hash_is_stable_across_runs_and_releases():
    assert identity.title_hash(pl.Series(["art v auto regressive"])).to_list() == ["ef810dd75ddbaf18"]


@pytest.mark.parametrize("id_first", [True, False])
def test_title_only_sighting_joins_the_id_bearing_one_whichever_comes_first(id_first):
    title_only = raw(title_raw="ARTcdotV: Auto-Regressive Text-to-Video Generation", position=1)
    with_id = raw(
        title_raw="ART$\\cdot$V: Auto-Regressive Text-to-Video Generation",
        arxiv_id="2503.02130",
        source_format="hf_daily_json",
        digest_date=dt.date(2025, 3, 14),
        authors=["A. Person", "B. Other"],
        position=2,
    )
    papers, appearances, _ = tables([with_id, title_only] if id_first else [title_only, with_id])
    assert papers.select("paper_id", "arxiv_id", "title", "n_appearances").rows() == [
        ("arxiv:2503.02130", "2503.02130", "ART·V: Auto-Regressive Text-to-Video Generation", 2)
    ]
    assert papers["authors"].to_list() == [["A. Person", "B. Other"]]
    assert appearances["paper_id"].unique().to_list() == ["arxiv:2503.02130"]
    assert papers.select("first_seen", "last_seen").row(0) == (dt.date(2025, 3, 13), dt.date(2025, 3, 14))


def test_versions_are_one_paper_and_the_newest_title_wins():
    v1 = raw(source_format="arxiv_listing", arxiv_id="2601.00010", arxiv_version=1, title_raw="Old Title",
             section="new", categories=["cs.LG"], authors=["A. Person"], digest_date=dt.date(2026, 1, 5))
    v2 = raw(source_format="arxiv_listing", arxiv_id="2601.00010", arxiv_version=2, title_raw="New Title",
             abstract_raw=None, section="replaced", categories=["cs.LG", "stat.ML"], authors=["A. Person"],
             digest_date=dt.date(2026, 1, 9), record_flags=["replaced"])
    hf = raw(source_format="hf_daily_json", arxiv_id="2601.00010", title_raw="Old Title",
             authors=["Person, A."], digest_date=dt.date(2026, 1, 12))
    papers, appearances, _ = tables([v1, v2, hf])
    assert papers.height == 1
    row = papers.row(0, named=True)
    assert (row["title"], row["abstract"]) == ("New Title", "An abstract that says something.")
    assert row["authors"] == ["A. Person"]  # the arXiv listing beats the scraped spelling
    assert row["categories"] == ["cs.LG", "stat.ML"]
    assert row["n_appearances"] == 3 and row["arxiv_id"] == "2601.00010"
    assert "abstract_missing" not in row["flags"]
    assert sorted(appearances["section"].drop_nulls()) == ["new", "replaced"]


def test_cross_list_sightings_union_their_categories():
    a = raw(source_format="arxiv_listing", arxiv_id="hep-th/9901001", categories=["hep-th"], section="new")
    b = raw(source_format="arxiv_listing", arxiv_id="hep-th/9901001", categories=["gr-qc", "hep-th"],
            section="cross-list", digest_date=dt.date(2025, 3, 14))
    papers, _, _ = tables([a, b])
    assert papers.select("paper_id", "categories").rows() == [("arxiv:hep-th/9901001", ["gr-qc", "hep-th"])]


def test_a_title_only_paper_that_gets_its_id_keeps_the_old_id_as_alias():
    title_only = raw(title_raw="Grounded Language Learning Fast and Slow")
    v1, _, _ = tables([title_only])
    old_id = v1["paper_id"].item()
    assert old_id.startswith("title:")
    with_id = raw(title_raw="Grounded Language Learning Fast and Slow", arxiv_id="2009.01719",
                  source_format="hf_daily_json", position=2)
    v2, _, _ = tables([title_only, with_id], parent=v1)
    assert v2.select("paper_id", "aliases").rows() == [("arxiv:2009.01719", [old_id])]
    diff = papers_diff(v1, v2)
    assert diff["summary"]["reidentified"] == 1
    assert (diff["summary"]["added"], diff["summary"]["removed"]) == (0, 0)
    assert diff["reidentified"] == [{"old": old_id, "new": "arxiv:2009.01719"}]
    # Later versions keep the alias even when the title-only dump is gone.
    v3, _, _ = tables([with_id], parent=v2)
    assert v3["aliases"].to_list() == [[old_id]]


def test_title_shared_by_two_ids_does_not_pull_title_only_records_into_either():
    rows = [
        raw(title_raw="Attention Is All You Need", arxiv_id="1706.03762", source_format="hf_daily_json"),
        raw(title_raw="Attention is all you need.", arxiv_id="2501.00001", source_format="hf_daily_json"),
        raw(title_raw="Attention Is All You Need"),
    ]
    papers, _, _ = tables(rows)
    assert sorted(p.split(":")[0] for p in papers["paper_id"]) == ["arxiv", "arxiv", "title"]


def test_a_paper_keeps_its_sightings_label_and_only_a_mixed_text_is_detected_again():
    seen: list[str] = []

    def counting(texts: pl.Series) -> pl.Series:
        seen.extend(texts.drop_nulls().to_list())
        return english(texts)

    rows = [
        raw(title_raw="Ein Titel", abstract_raw="Wir stellen ein neues Verfahren zur Erkennung von Objekten vor."),
        # The HF JSON sighting's title wins (rank), but it has no abstract: the listing's abstract completes it.
        raw(title_raw="Mixed Paper", abstract_raw=None, arxiv_id="2501.00002", source_format="hf_daily_json"),
        raw(title_raw="Mixed paper", abstract_raw="Nous proposons une méthode.", arxiv_id="2501.00002",
            source_format="hf_papers_html", position=2),
    ]
    records = identity.with_paper_ids(labelled_records(records_frame(rows)).lazy()).collect()
    links = identity.links_table(records.lazy()).collect()
    papers = identity.papers_table(records.lazy(), links.lazy(), counting).collect()
    assert seen == ["Mixed Paper. Nous proposons une méthode."]
    assert dict(zip(papers["title"], papers["language"])) == {"Ein Titel": "de", "Mixed Paper": "en"}


def test_authors_are_cleaned_and_the_raw_list_is_kept_beside_them():
    names = ['Jan Schr\\"oder', "Pál Erd\\H{o}s", "et al. (57 additional authors not shown)"]
    papers, _, _ = tables([raw(authors=names, arxiv_id="2501.00003", source_format="arxiv_listing")])
    row = papers.row(0, named=True)
    assert row["authors"] == ["Jan Schröder", "Pál Erdős"]
    assert row["authors_raw"] == names
    assert "authors_truncated" in row["flags"]
