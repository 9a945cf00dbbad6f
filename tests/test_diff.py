"""Diff: what changed between two versions, appearance changes included, and the gates before validation: a
breaking schema change and removals are refused, and removals are explained by the inputs behind them."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.diff import (
    Removals,
    RemovalsRefused,
    SchemaChangeRefused,
    diff_against_parent,
    papers_diff,
    refuse_schema_change,
    removals,
)
from schemas.tables import schema_description


def _papers(*ids: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"paper_id": list(ids), "title": [f"Title {i}" for i in ids], "aliases": [[] for _ in ids]},
        schema={"paper_id": pl.String, "title": pl.String, "aliases": pl.List(pl.String)},
    )


def _appearances(rows: list[tuple[str, dt.date, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "paper_id": p,
                "digest_date": d,
                "digest_date_source": src,
                "source_path": path,
                "source_format": "hf_papers_text",
                "section": None,
            }
            for p, d, src, path in rows
        ],
        schema={
            "paper_id": pl.String,
            "digest_date": pl.Date,
            "digest_date_source": pl.String,
            "source_path": pl.String,
            "source_format": pl.String,
            "section": pl.String,
        },
    )


def test_a_digest_date_moved_by_the_file_time_is_a_change():
    papers = _papers("a", "b")
    old = _appearances(
        [
            ("a", dt.date(2025, 3, 13), "header+file_mtime", "x.txt"),
            ("b", dt.date(2025, 3, 13), "header+file_mtime", "x.txt"),
        ]
    )
    new = old.with_columns(pl.lit(dt.date(2024, 3, 13)).alias("digest_date"))
    diff = papers_diff(papers, papers, old, new)
    assert diff["summary"]["changed"] == 2 and diff["summary"]["unchanged"] == 0
    assert diff["summary"]["changed_fields"] == {"digest_dates": 2}
    assert diff["changed"] == [
        {"paper_id": "a", "fields": ["digest_dates"]},
        {"paper_id": "b", "fields": ["digest_dates"]},
    ]
    assert diff["summary"]["appearances"] == {"old": 2, "new": 2}
    # Without appearances the diff is what it was: papers fields only.
    assert papers_diff(papers, papers)["summary"]["unchanged"] == 2


def test_a_sighting_from_another_file_is_a_change_and_order_does_not_matter():
    papers = _papers("a")
    old = _appearances(
        [("a", dt.date(2025, 3, 13), "header", "x.txt"), ("a", dt.date(2025, 3, 14), "header", "y.txt")]
    )
    assert papers_diff(papers, papers, old, old.reverse())["summary"]["unchanged"] == 1
    moved = old.with_columns(
        pl.when(pl.col("source_path") == "y.txt")
        .then(pl.lit("z.txt"))
        .otherwise(pl.col("source_path"))
        .alias("source_path")
    )
    assert papers_diff(papers, papers, old, moved)["changed"] == [{"paper_id": "a", "fields": ["sources"]}]


def test_removals_name_the_inputs_and_the_papers():
    old_papers = _papers("a", "b", "c")
    old_app = _appearances(
        [
            ("a", dt.date(2025, 3, 13), "header", "gone.txt"),
            ("b", dt.date(2025, 3, 13), "header", "edited.txt"),
            ("c", dt.date(2025, 3, 13), "header", "kept.txt"),
        ]
    )
    diff = papers_diff(old_papers, _papers("c"))
    parent_inputs = [
        {"path": "gone.txt", "sha256": "1"},
        {"path": "edited.txt", "sha256": "2"},
        {"path": "kept.txt", "sha256": "3"},
    ]
    inputs = [{"path": "edited.txt", "sha256": "2b"}, {"path": "kept.txt", "sha256": "3"}]
    found = removals(diff, "v4", old_papers, old_app, parent_inputs, inputs)
    assert found.inputs == [
        {"path": "edited.txt", "change": "changed", "papers": 1},
        {"path": "gone.txt", "change": "removed", "papers": 1},
    ]
    assert found.papers == [
        {"paper_id": "a", "title": "Title a", "inputs": ["gone.txt"]},
        {"paper_id": "b", "title": "Title b", "inputs": ["edited.txt"]},
    ]
    message = str(RemovalsRefused(found))
    assert message.startswith(
        "this run would remove 2 paper(s) published in v4: edited.txt changed (1 paper); gone.txt removed (1 paper)."
    )
    unchanged = Removals("v4", found.papers, [{"path": "kept.txt", "change": "unchanged", "papers": 2}])
    assert "kept.txt unchanged, but the code's rules now quarantine or re-identify 2 papers." in unchanged.message()
    assert "'Title a'" in message and message.endswith("or pass --allow-removals to publish the removal.")
    assert (
        removals(papers_diff(old_papers, old_papers), "v4", old_papers, old_app, parent_inputs, inputs)
        is None
    )


@pytest.mark.parametrize("n", [7, 1])
def test_a_long_removal_message_stays_short(n):
    papers = _papers(*[f"p{i}" for i in range(n)])
    app = _appearances([(f"p{i}", dt.date(2025, 1, 1), "header", "gone.txt") for i in range(n)])
    found = removals(
        papers_diff(papers, _papers()), "v1", papers, app, [{"path": "gone.txt", "sha256": "1"}], []
    )
    assert (" and 2 more." in found.message()) is (n == 7)


def test_added_removed_reidentified_and_changed_papers():
    old = _papers("arxiv:1", "arxiv:2", "title:aa").with_columns(pl.Series("language", ["en", "en", "en"]))
    new = pl.DataFrame(
        {
            "paper_id": ["arxiv:1", "arxiv:3", "arxiv:4"],
            "title": ["Title arxiv:1", "Title arxiv:3", "Title title:aa"],
            "aliases": [[], [], ["title:aa"]],
            "language": ["de", "en", "en"],
        }
    )
    diff = papers_diff(old, new)
    assert diff["added"] == ["arxiv:3"]
    assert diff["removed"] == ["arxiv:2"]
    assert diff["reidentified"] == [{"old": "title:aa", "new": "arxiv:4"}]
    # arxiv:1's language changed; the re-identified paper kept its fields (compared through its alias): unchanged.
    assert diff["changed"] == [{"paper_id": "arxiv:1", "fields": ["language"]}]
    assert diff["summary"] | {"changed_fields": None} == {
        "added": 1, "removed": 1, "reidentified": 1, "changed": 1, "unchanged": 1, "changed_fields": None,
    }


def test_a_breaking_schema_change_is_refused_and_an_added_nullable_column_is_not():
    parent = schema_description()
    refuse_schema_change(parent, "v1")  # the same schema passes
    grown = {**parent, "papers": [*parent["papers"], {"name": "score", "type": "double", "nullable": True}]}
    with pytest.raises(SchemaChangeRefused, match=r"papers.score removed.*--allow-schema-change"):
        refuse_schema_change(grown, "v1")


def test_the_removal_gate_names_the_papers_unless_removals_are_allowed():
    old, new = _papers("a", "b"), _papers("a")
    old_app = _appearances([("a", dt.date(2025, 3, 13), "header", "x.txt"),
                            ("b", dt.date(2025, 3, 13), "header", "gone.txt")])
    new_app = old_app.filter(pl.col("paper_id") == "a")
    inputs = [{"path": "x.txt", "sha256": "1"}]
    args = ("v1", old.lazy(), old_app.lazy(), [*inputs, {"path": "gone.txt", "sha256": "2"}],
            {"papers": new.lazy(), "appearances": new_app.lazy()}, inputs)
    with pytest.raises(RemovalsRefused, match=r"remove 1 paper\(s\) published in v1: gone.txt removed") as refused:
        diff_against_parent(*args, allow_removals=False)
    assert [p["paper_id"] for p in refused.value.removals.papers] == ["b"]
    assert diff_against_parent(*args, allow_removals=True)["removed"] == ["b"]
