"""Record-level expectations quarantine the offending papers; dataset-level ones still block (issue 9, item 4).

The candidate is staged with publish.write_table, as a run writes it; the gate, the suite and GX are real.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import staged_candidate
from test_validate import RAW_RECORDS, SCRIPT, _appearance, _frame, _paper, valid_tables

from flows import record_checks
from flows.report import render_report
from flows.validate import validate_version
from schemas.expectations import DATASET, KINDS, RECORD, RECORD_EXPECTATIONS, SUITE
from schemas.tables import PUBLISHED

BAD_TITLE = "arxiv:2503.02130"
BAD_LINK = "arxiv:2503.02131"


def _with_offenders(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The valid candidate plus two papers that each fail one record check: a <script> title, a broken URL."""
    papers = [
        _paper(BAD_TITLE, "2503.02130", f"{SCRIPT} Evil Title", 2),
        _paper(BAD_LINK, "2503.02131", "A Paper With a Broken Link", 1),
    ]
    appearances = [_appearance(BAD_TITLE, 22), _appearance(BAD_TITLE, 23), _appearance(BAD_LINK, 24)]
    links = [{"paper_id": BAD_LINK, "url": "https://exa mple.org/x", "kind": "code", "host": "exa mple.org",
              "url_raw": "https://exa mple.org/x"}]
    add = {"papers": papers, "appearances": appearances, "links": links}
    return {t: pl.concat([f, _frame(t, add[t])]) if t in add else f for t, f in tables.items()}


def test_every_check_declares_its_kind_and_record_checks_can_quarantine():
    assert {c.kind for c in SUITE} == set(KINDS)
    quarantining = record_checks.quarantining_checks()
    assert all(c.expectation in RECORD_EXPECTATIONS and c.name for c in quarantining)
    assert len({c.name for c in quarantining}) == len(quarantining)
    # Schema, uniqueness, reconciliation and the census block the version; ids, titles and URLs do not.
    blocking_dataset = {c.expectation for c in SUITE if c.kind == DATASET and c.blocking}
    assert {"ExpectColumnValuesToBeUnique", "ExpectTableRowCountToEqual", "inputs_yield_what_they_announce",
            "ExpectTableColumnsToMatchOrderedList"} <= blocking_dataset
    assert {c.name for c in SUITE if c.kind == RECORD and c.blocking} >= {
        "arxiv_id_well_formed", "title_without_latex_or_html", "url_well_formed"}


def test_offending_papers_move_to_quarantine_with_their_sightings_and_links(tmp_path: Path):
    candidate = staged_candidate(tmp_path / "papers", _with_offenders(valid_tables()))
    moved = record_checks.quarantined_offenders(candidate, row_group_size=1000)

    assert {name: (m.papers, m.records) for name, m in moved.items()} == {
        "title_without_latex_or_html": (1, 2),
        "url_well_formed": (1, 1),
    }
    tables = {t: pl.read_parquet(candidate.path / f"{t}.parquet") for t in PUBLISHED}
    assert set(tables["papers"]["paper_id"]) == set(valid_tables()["papers"]["paper_id"])
    assert BAD_TITLE not in set(tables["appearances"]["paper_id"]) and BAD_LINK not in set(tables["links"]["paper_id"])
    assert tables["quarantine"].tail(3).select("location", "reason", "raw_text").rows() == [
        ("line 88", "title_without_latex_or_html", f"{SCRIPT} Evil Title"),
        ("line 92", "title_without_latex_or_html", f"{SCRIPT} Evil Title"),
        ("line 96", "url_well_formed", "https://exa mple.org/x"),
    ]
    # Counts still reconcile, and the outputs the manifest lists describe the rewritten files.
    assert tables["appearances"].height + tables["quarantine"].height == RAW_RECORDS + 3
    assert tables["papers"]["n_appearances"].sum() == tables["appearances"].height
    assert {f: o["rows"] for f, o in candidate.outputs.items()} == {
        f"{t}.parquet": frame.height for t, frame in tables.items()
    }
    assert sorted(p.name for p in candidate.path.iterdir()) == sorted(f"{t}.parquet" for t in PUBLISHED)

    report = validate_version(candidate.tables(), version="v1", raw_records=RAW_RECORDS + 3, parent=None,
                              moved=moved)
    assert report.success is True and report.blocking_failures() == []
    by_name = {o.name: o for o in report.quarantining()}
    assert set(by_name) == {"title_without_latex_or_html", "url_well_formed"}
    title = by_name["title_without_latex_or_html"]
    assert (title.success, title.blocking, title.kind, title.quarantined) == (False, False, "record", 2)
    assert title.observed == "1 paper(s) with 2 sighting(s) moved to quarantine as title_without_latex_or_html"
    assert report.summary()["quarantined_by_record_checks"] == {
        "title_without_latex_or_html": 2, "url_well_formed": 1}
    html = render_report(report)
    assert "Records moved to quarantine (record-level expectations)" in html and "<script>alert" not in html


def test_a_candidate_without_offenders_is_not_rewritten(tmp_path: Path):
    candidate = staged_candidate(tmp_path / "papers", valid_tables())
    before = {f: o["sha256"] for f, o in candidate.outputs.items()}
    assert record_checks.quarantined_offenders(candidate, row_group_size=1000) == {}
    assert {f: o["sha256"] for f, o in candidate.outputs.items()} == before


def test_an_offender_left_in_the_tables_still_blocks(tmp_path: Path):
    """The suite checks what the gate left: a record check that still fails blocks, whatever was moved."""
    tables = _with_offenders(valid_tables())
    moved = {"title_without_latex_or_html": record_checks.Moved(1, 2, [SCRIPT])}
    report = validate_version(tables, version="v1", raw_records=RAW_RECORDS + 3, parent=None, moved=moved)
    assert report.success is False
    title = next(o for o in report.blocking_failures() if o.name == "title_without_latex_or_html")
    assert title.observed.startswith("1 paper(s) with 2 sighting(s) moved to quarantine as ")
    assert "still failing" in title.observed


@pytest.mark.parametrize("check", record_checks.quarantining_checks(), ids=lambda c: c.name)
def test_row_by_row_evaluation_agrees_with_the_suite_on_the_valid_candidate(check):
    frame = valid_tables()[check.table]
    assert frame.filter(record_checks.offending(check)).is_empty()


@pytest.mark.parametrize(
    ("title", "offends"),
    [
        ("Tight Bounds When k<n and n>m", False),  # maths, not markup: the paper stays
        ("Sorting x<y, y>z in Linear Time", False),
        ("Queues Q<T, F> for Typed Streams", False),
        (f"{SCRIPT} Evil Title", True),
        ("A <img src=x onerror=alert(1)> Title", True),
        ("Tables <TD>Inside</TD> Titles", True),
    ],
)
def test_only_html_elements_count_as_tags_in_a_title(title, offends):
    check = next(c for c in record_checks.quarantining_checks() if c.name == "title_without_latex_or_html")
    frame = pl.DataFrame({"title": [title]})
    assert frame.select(record_checks.offending(check)).item() is offends
