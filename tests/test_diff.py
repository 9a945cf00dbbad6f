"""Diff: appearance changes count as changes, and removals are explained by the inputs behind them (issue 9)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.diff import Removals, RemovalsRefused, papers_diff, removals


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
