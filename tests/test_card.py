"""Tests for the dataset card (flows/card.py): the README.md of a version and its SVG plots."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from flows import identity
from flows.card import card_plots, dataset_card
from schemas.tables import PUBLISHED, polars_schema

SVG = "{http://www.w3.org/2000/svg}"
D12, D13, D14 = dt.date(2025, 3, 12), dt.date(2025, 3, 13), dt.date(2025, 3, 14)


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(PUBLISHED[table]))


def _paper(paper_id: str, language: str | None, flags: list[str] = ()) -> dict:
    return {
        "paper_id": paper_id,
        "arxiv_id": None,
        "title": f"Paper {paper_id}",
        "title_raw": f"Paper {paper_id}",
        "abstract": None,
        "abstract_raw": None,
        "authors": [],
        "categories": [],
        "language": language,
        "code_url": None,
        "project_url": None,
        "published_at": None,
        "comments": None,
        "journal_ref": None,
        "doi": None,
        "first_seen": D12,
        "last_seen": D14,
        "n_appearances": 1,
        "flags": list(flags),
        "aliases": [],
    }


def _appearance(paper_id: str, day: dt.date | None, position: int) -> dict:
    return {
        "paper_id": paper_id,
        "digest_date": day,
        "digest_date_source": "header+filename",
        "source_format": "hf_papers_text",
        "source_path": "000_seed.txt",
        "source_sha256": "ab" * 32,
        "position": position,
        "line": position,
        "section": None,
    }


def card_tables() -> dict[str, pl.DataFrame]:
    """5 papers in 3 languages (one a hostile label) plus one undetected, seen on 3 digest dates."""
    papers = [
        _paper("title:a", "en", ["abstract_missing"]),
        _paper("title:b", "en"),
        _paper("title:c", "de"),
        _paper("title:d", "<b>"),
        _paper("title:e", None),
    ]
    sightings = [
        ("title:a", D12),
        ("title:a", D13),
        ("title:b", D13),
        ("title:c", D13),
        ("title:d", D14),
        ("title:e", D14),
        ("title:e", D14),
    ]
    appearances = [_appearance(p, d, i) for i, (p, d) in enumerate(sightings, 1)]
    links = [
        {
            "paper_id": "title:a",
            "url": "https://github.com/x/a",
            "kind": "code",
            "host": "github.com",
            "url_raw": "https://github.com/x/a.",
        },
        {
            "paper_id": "title:b",
            "url": "https://x.org/b",
            "kind": "project",
            "host": "x.org",
            "url_raw": "https://x.org/b",
        },
    ]
    quarantine = [
        {
            "source_path": "000_seed.txt",
            "source_sha256": "ab" * 32,
            "location": "line 9",
            "reason": "no title",
            "raw_text": "<img src=x>",
        }
    ]
    return {
        "papers": _frame("papers", papers),
        "appearances": _frame("appearances", appearances),
        "links": _frame("links", links),
        "quarantine": _frame("quarantine", quarantine),
    }


def card_manifest(diff: dict | None) -> dict:
    return {
        "version": "v3",
        "parent": "v2" if diff else None,
        "created_at": "2025-03-14T08:00:00+00:00",
        "schema_fingerprint": "0123456789abcdef" * 4,
        "validation": {
            "evaluated": 58,
            "passed": 57,
            "failed_blocking": 0,
            "failed_warning": 1,
            "success": True,
        },
        "counts": {"raw_records": 8, "appearances": 7, "quarantined": 1, "papers": 5, "links": 2},
        "inputs": [
            {
                "path": "000_seed.txt",
                "sha256": "ab" * 32,
                "format": "hf_papers_text",
                "records": 6,
                "quarantined": 1,
            },
            {
                "path": "a|b<i>.json",
                "sha256": "cd" * 32,
                "format": "hf_daily_json",
                "records": 1,
                "quarantined": 0,
            },
        ],
        "diff": diff,
    }


DIFF = {
    "summary": {
        "added": 2,
        "removed": 1,
        "reidentified": 0,
        "changed": 1,
        "unchanged": 2,
        "changed_fields": {"abstract": 1, "title": 1},
    },
    "added": ["title:d", "title:e"],
    "removed": ["title:z"],
    "reidentified": [],
    "changed": [{"paper_id": "title:a", "fields": ["abstract", "title"]}],
}


@pytest.fixture(scope="module")
def card() -> str:
    return dataset_card("v3", card_tables(), card_manifest(DIFF))


def _section(card: str, heading: str) -> str:
    """The text of one `## heading` section, up to the next `## `."""
    start = card.index(f"## {heading}\n")
    end = card.find("\n## ", start + 1)
    return card[start : end if end != -1 else None]


def test_card_states_counts_facts_and_changes(card: str):
    assert card.startswith("# papers — version v3\n")
    counts = _section(card, "Row counts")
    for table, rows in {"papers": 5, "appearances": 7, "links": 2, "quarantine": 1}.items():
        assert f"| {table} | {rows} |" in counts
    assert "Reconciliation: 8 raw records = 7 appearances + 1 quarantined." in counts
    assert "- parent version: v2" in card
    assert "- validation: passed (57 of 58 expectations passed; 1 warnings)" in card
    assert "- digest dates: 2025-03-12 to 2025-03-14" in card
    changes = _section(card, "Changes since the parent version v2")
    assert "2 added, 1 removed, 0 re-identified, 1 changed, 2 unchanged." in changes
    rows = re.findall(r"^\| (\w+) \| ([\d,]+) \| .+ \|$", changes, flags=re.M)
    assert rows == [("added", "2"), ("removed", "1"), ("reidentified", "0"), ("changed", "1"), ("unchanged", "2")]
    assert "| `abstract` | 1 |\n| `title` | 1 |" in changes


def test_first_version_card_says_so():
    card = dataset_card("v1", card_tables(), card_manifest(None))
    assert "- parent version: (none — first version)" in card
    assert "every paper is new." in _section(card, "Changes since the parent version")


def test_card_lists_sources_languages_links_flags_and_quarantine_reasons(card: str):
    sources = _section(card, "Sources")
    assert "| hf_daily_json | 1 | 1 | 0 |" in sources and "| hf_papers_text | 1 | 6 | 1 |" in sources
    # A file name is data: its | must not split the table and its <i> must not become HTML.
    assert "| a\\|b&lt;i&gt;.json | hf_daily_json | 1 | 0 | `cdcdcdcdcdcd` |" in sources
    languages = _section(card, "Languages")
    assert "| en | 2 | 40.0% |" in languages and "| (undetected) | 1 | 20.0% |" in languages
    assert "| &lt;b&gt; | 1 | 20.0% |" in languages and "<b>" not in languages
    assert "| code | 1 | 50.0% |" in _section(card, "Link kinds")
    assert "| abstract_missing | 1 | 100.0% |" in _section(card, "Flags (what cleaning could not fully fix)")
    assert "| no title | 1 | 100.0% | 1 |" in _section(card, "Quarantine reasons")


def test_card_inputs_table_has_the_census_columns_and_totals():
    manifest = card_manifest(None)
    manifest["inputs"][0] |= {"announced": 7, "census_shortfall": 0}
    manifest["inputs"][1] |= {"announced": 2, "census_shortfall": 1}
    sources = _section(dataset_card("v1", card_tables(), manifest), "Sources")
    assert "| path | format | records | quarantined | announced | census_shortfall | sha256 |" in sources
    assert "| 000_seed.txt | hf_papers_text | 6 | 1 | 7 | 0 | `abababababab` |" in sources
    assert "| total: 2 files |  | 7 | 1 | 9 | 1 |  |" in sources


def test_card_schema_lists_every_published_column_in_order(card: str):
    schema = _section(card, "Schema")
    for table, contract in PUBLISHED.items():
        block = schema.split(f"### {table}\n", 1)[1].split("\n### ", 1)[0]
        rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (yes|no) \| (.*) \|$", block, flags=re.MULTILINE)
        assert [r[0] for r in rows] == contract.names
        for (name, type_, nullable, meaning), field in zip(rows, contract):
            assert (type_, nullable == "yes") == (str(field.type), field.nullable), name
            assert meaning, f"{table}.{name} has no meaning in the card"


def test_card_field_precedence_is_identitys_data(card: str):
    section = _section(card, "Field precedence")
    shown = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    # One source: identity.FIELD_PRECEDENCE, which papers_chosen implements, shown rule by rule.
    assert shown == [f"{field}: {rule}" for field, rule in identity.FIELD_PRECEDENCE]
    assert shown[0].startswith("title: arXiv's own sources") and len(shown) >= 5
    assert any(r.startswith("categories: the union over all sightings") for r in shown)


def test_card_load_snippets_run_against_the_version(card: str, tmp_path: Path, monkeypatch, capsys):
    version = tmp_path / "v3"
    version.mkdir()
    for name, frame in card_tables().items():
        frame.write_parquet(version / f"{name}.parquet")
    (snippet,) = re.findall(r"```python\n(.*?)```", card, flags=re.DOTALL)
    monkeypatch.chdir(tmp_path)  # paths in the card are relative to the dataset directory
    scope: dict = {}
    exec(compile(snippet, "card-snippet", "exec"), scope)  # noqa: S102 — the card's own example code
    assert scope["papers"].height == 5 and len(scope["appearances"]) == 7
    assert "language" in capsys.readouterr().out  # duckdb printed its grouped table


def test_card_links_its_plots(card: str):
    images = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", card)
    assert [src for _, src in images] == sorted(card_plots(card_tables()))
    assert all(alt for alt, _ in images)


# --- plots ------------------------------------------------------------------------------------------------


def _bars(svg: str) -> list[tuple[str, float]]:
    """(tooltip, width) of every bar, in drawing order."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [
        (rect.find(f"{SVG}title").text, float(rect.get("width")))
        for rect in root.iter(f"{SVG}rect")
        if rect.get("class") == "bar"
    ]


def test_card_plots_have_one_bar_per_digest_date_and_language():
    plots = card_plots(card_tables())
    assert set(plots) == {"plots/digest_dates.svg", "plots/languages.svg"}
    # Distinct papers per date: a paper seen twice in one digest counts once.
    assert _bars(plots["plots/digest_dates.svg"]) == [
        ("2025-03-12: 1", pytest.approx(120.0)),
        ("2025-03-13: 3", pytest.approx(360.0)),
        ("2025-03-14: 2", pytest.approx(240.0)),
    ]
    assert [t for t, _ in _bars(plots["plots/languages.svg"])] == [
        "en: 2 (40.0%)",
        "<b>: 1 (20.0%)",
        "de: 1 (20.0%)",
        "(undetected): 1 (20.0%)",
    ]


def test_card_plots_escape_labels_and_are_deterministic():
    tables = card_tables()
    svg = card_plots(tables)["plots/languages.svg"]
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    labels = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "<b>" in labels
    assert "@import" not in svg and "url(" not in svg and "href" not in svg
    # Same tables, whatever their row order, give the same bytes.
    shuffled = {name: frame.reverse() for name, frame in tables.items()}
    assert card_plots(shuffled) == card_plots(tables)


def test_many_dates_fold_into_months_and_many_languages_into_other():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(70)]
    tables = card_tables()
    tables["appearances"] = _frame(
        "appearances", [_appearance("title:a", d, i) for i, d in enumerate(days, 1)]
    )
    codes = ["aa", "bb", "cc", "dd", "ee", "ff", "gg", "hh", "ii", "jj", "kk", "ll", "mm", "nn"]
    tables["papers"] = _frame("papers", [_paper(f"title:{c}", c) for c in codes])
    plots = card_plots(tables)
    dates = plots["plots/digest_dates.svg"]
    assert "Papers per digest month" in dates
    assert [t for t, _ in _bars(dates)] == ["2025-01: 1", "2025-02: 1", "2025-03: 1"]
    languages = [t for t, _ in _bars(plots["plots/languages.svg"])]
    assert len(languages) == 13 and languages[-1] == "2 other languages: 2 (14.3%)"


def test_card_plots_of_empty_tables_are_valid_svg():
    tables = {name: frame.clear() for name, frame in card_tables().items()}
    for svg in card_plots(tables).values():
        root = ET.fromstring(svg)
        assert _bars(svg) == [] and "no data" in [t.text for t in root.iter(f"{SVG}text")]


def test_card_lists_record_and_dataset_expectations_and_the_census():
    manifest = card_manifest(None)
    manifest["validation"]["quarantined_by_record_checks"] = {"title_without_latex_or_html": 2}
    manifest["counts"]["census"] = {"files_counted": 2, "announced": 9, "shortfall": 1,
                                    "files_short": ["a|b<i>.json"], "files_lost_whole": []}
    section = _section(dataset_card("v1", card_tables(), manifest), "Expectations: records and dataset")
    assert "dataset-level expectations (schema, uniqueness, reconciliation, census) block the whole version" in section
    assert "record-level expectations (ids, titles, URLs, languages) never block it" in section
    assert "`title_without_latex_or_html`" in section and "`url_well_formed`" in section
    assert "- moved to quarantine in this version: 2 sighting(s) by `title_without_latex_or_html`." in section
    assert "announce 9 records; 1 are missing from 1 file(s) (a\\|b&lt;i&gt;.json)" in section
