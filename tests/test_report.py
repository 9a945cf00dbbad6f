"""Tests for the report on its own (flows/report.py, flows/facts.py, flows/templates/): a Report built here, no
pipeline, no GX run. Values are read back from the HTML as a person sees them (entities decoded, tags apart).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from flows import facts, fingerprint
from flows.card import dataset_card
from flows.outcome import Outcome, Report
from flows.publish import write_report
from flows.report import DATA_DOCS_DIR, render_report, report_files
from schemas.tables import PUBLISHED, polars_schema

SCRIPT = "<script>alert(1)</script>"
REASON = 'no title <img src=x onerror=alert(1)> & "quotes"'


def _outcome(expectation: str, *, success: bool, blocking: bool = True, **extra) -> Outcome:
    return Outcome(
        table=extra.pop("table", "papers"),
        expectation=expectation,
        column=extra.pop("column", "title"),
        blocking=blocking,
        success=success,
        observed=extra.pop("observed", "0 of 3 non-null values unexpected (0.0%)"),
        sample=extra.pop("sample", []),
        description=extra.pop("description", "why it matters"),
        **extra,
    )


def quarantine_frame(rows: list[tuple[str, str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"source_path": p, "source_sha256": "ab" * 32, "location": loc, "reason": r, "raw_text": raw}
         for p, loc, r, raw in rows],
        schema=polars_schema(PUBLISHED["quarantine"]),
    )


QUARANTINE = quarantine_frame([
    ("a.txt", "line 4", REASON, SCRIPT),
    ("a.txt", "line 9", REASON, "x" * 400),
    ("b.json", "item 2", REASON, None),
    ("b.json", "whole file", "truncated JSON", "{"),
])
INPUTS = [
    {"path": "a.txt", "sha256": "ab" * 32, "format": "hf_papers_text", "records": 1200, "quarantined": 2,
     "announced": 1202, "census_shortfall": 0},
    {"path": "b.json", "sha256": "cd" * 32, "format": "hf_daily_json", "records": 40, "quarantined": 2,
     "announced": 45, "census_shortfall": 3},
]
DIFF = {"added": 1234, "removed": 0, "reidentified": 2, "changed": 17, "unchanged": 5,
        "changed_fields": {"title": 3, "abstract": 15}}


def report(success: bool = False, **extra) -> Report:
    outcomes = [
        _outcome("expect_column_values_to_not_match_regex", success=success, observed=f"1 of 3 {SCRIPT}",
                 sample=[SCRIPT, '"><img src=x>'], description="why <b>"),
        _outcome("row_count_drop_vs_parent", success=False, blocking=False, column=None,
                 observed="3 rows vs 15 in the parent (-80.0%)"),
        _outcome("expect_column_values_to_be_unique", success=True, column="paper_id"),
    ]
    return Report(
        version=extra.pop("version", "v2"),
        success=success,
        outcomes=outcomes,
        counts=extra.pop("counts", {"raw_records": 1244, "papers": 900, "appearances": 1240, "links": 10,
                                    "quarantine": 4}),
        context=extra.pop("context", {"inputs": INPUTS, "diff": DIFF, "parent": "v1"}),
        quarantine=facts.quarantine_sample(QUARANTINE),
        **extra,
    )


class Page(HTMLParser):
    """The text of the page, one line per block, and its table rows as lists of cell texts."""

    _BLOCKS = {"h1", "h2", "h3", "p", "li", "section", "div", "tr", "table", "summary"}

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._text: list[str] = []
        self._cell: list[str] | None = None
        self._hidden = 0
        self.feed(markup)
        self.lines = [re.sub(r"\s+", " ", line).strip() for line in "".join(self._text).split("\n")]
        self.lines = [line for line in self.lines if line]
        self.text = " ".join(self.lines)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._hidden += tag in ("style", "title")
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []
        self._text.append("\n" if tag in self._BLOCKS else " ")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("style", "title")
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        self._text.append(" ")

    def handle_data(self, data):
        if self._hidden:
            return
        self._text.append(data.replace("\n", " "))
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first: str) -> list[str]:
        """The first table row whose first cell is `first`."""
        return next(r for r in self.rows if r and r[0] == first)


@pytest.fixture(scope="module")
def blocked() -> Page:
    return Page(render_report(report()))


def test_the_verdict_comes_first_and_names_the_blocking_failure(blocked: Page):
    assert blocked.lines[0] == "papers v2: validation report"
    assert blocked.lines[1] == "BLOCKED 1 blocking expectation(s) failed; this version must not be published."
    assert blocked.lines[2].startswith("papers.title expect_column_values_to_not_match_regex: 1 of 3 " + SCRIPT)
    assert blocked.lines[3] == "3 expectations evaluated: 1 passed, 1 blocking failure(s), 1 warning(s)"
    eligible = Page(render_report(report(success=True)))
    assert eligible.lines[1] == (
        "PUBLISHED-eligible No blocking expectation failed; this version may be published (1 warning below)."
    )


def test_counts_and_reconciliation(blocked: Page):
    assert "raw records 1,244 = appearances 1,240 + quarantined 4 = 1,244" in blocked.text
    assert blocked.row("raw_records") == ["raw_records", "1,244"]
    assert blocked.row("appearances") == ["appearances", "1,240"]
    mismatch = report(counts={"raw_records": 1245, "appearances": 1240, "quarantine": 4})
    said = "MISMATCH raw records 1,245 ≠ appearances 1,240 + quarantined 4 = 1,244"
    assert said in Page(render_report(mismatch)).text


def test_the_diff_numbers_with_their_meaning(blocked: Page):
    assert "Changes since the parent version v1" in blocked.lines
    assert "1,234 added, 0 removed, 2 re-identified, 17 changed, 5 unchanged." in blocked.lines
    assert blocked.row("added") == ["added", "1,234", "papers new in this version"]
    assert blocked.row("reidentified")[:2] == ["reidentified", "2"]
    assert blocked.row("changed")[:2] == ["changed", "17"]
    # Fields most changed first.
    fields = [r for r in blocked.rows if r and r[0] in ("title", "abstract")]
    assert fields == [["abstract", "15"], ["title", "3"]]
    first = Page(render_report(report(context={"diff": None, "parent": None})))
    assert "First version: there is no parent to compare with; every paper is new." in first.lines


def test_the_inputs_table_has_the_census_columns_and_totals(blocked: Page):
    header = next(r for r in blocked.rows if r and r[0] == "path")
    assert header == ["path", "format", "records", "quarantined", "announced", "census_shortfall", "sha256"]
    (row,) = [r for r in blocked.rows if r[:1] == ["b.json"] and len(r) == len(header)]
    assert row == ["b.json", "hf_daily_json", "40", "2", "45", "3", "cd" * 32]
    assert blocked.row("total: 2 files") == ["total: 2 files", "", "1,240", "4", "1,247", "3", ""]


def test_quarantine_reasons_are_counted_and_escaped(blocked: Page):
    markup = render_report(report())
    assert blocked.row(REASON) == [REASON, "3", "75.0%", "2"]  # three records in two files
    assert blocked.row("truncated JSON") == ["truncated JSON", "1", "25.0%", "1"]
    assert "no title &lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;" in markup
    records = [r for r in blocked.rows if r and r[0] in ("a.txt", "b.json") and len(r) == 4]
    assert records[0] == ["a.txt", "line 4", REASON, SCRIPT]
    assert records[1][3] == "x" * 300 + "…"  # raw text cut at RAW_TEXT_SHOWN
    assert records[2][3] == ""  # a null raw text


def test_nothing_from_the_data_becomes_markup(blocked: Page):
    evil = report(version="v<1>", context={"<k>": {"<inner>": SCRIPT}, "link": "javascript:alert(1)",
                                            "ok": "https://example.org/a?b=1&c=2"})
    markup = render_report(evil)
    page = Page(markup)
    assert set(page.tags) <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p",
                              "section", "strong", "ul", "li", "b", "i", "code", "div", "svg", "rect", "span",
                              "table", "tr", "th", "td", "br", "wbr", "details", "summary", "a"}
    assert "<script" not in markup and "<img" not in markup and "why <b>" not in markup
    assert "why &lt;b&gt;" in markup and "&#34;&gt;&lt;img src=x&gt;" in markup
    assert "v&lt;1&gt;" in markup and "&lt;inner&gt;" in markup
    assert re.findall(r'href="([^"]*)"', markup) == ["https://example.org/a?b=1&amp;c=2"]
    assert "javascript:alert(1)" in page.text  # shown, as text
    assert "Data Docs were not built" in page.text


def test_the_page_is_self_contained_with_its_csp(blocked: Page):
    markup = render_report(report())
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', markup).group(1)
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert not re.search(r"<(link|script|img|iframe)\b", markup) and "url(" not in markup
    assert not re.search(r"<[^>]*\ssrc\s*=", markup)


def test_report_files_and_write_report(tmp_path: Path):
    docs = {"index.html": b"<html>docs</html>", "static/images/logo.png": b"\x89PNG\r\n"}
    written = report(data_docs=docs, gx_results={"papers": {"success": False}}, parameters={"x": 1})
    files = report_files(written)
    assert set(files) == {"index.html", "results.json", f"{DATA_DOCS_DIR}/index.html",
                          f"{DATA_DOCS_DIR}/static/images/logo.png"}
    results = json.loads(files["results.json"])
    assert results["summary"]["failed_blocking"] == 1 and results["parameters"] == {"x": 1}
    assert [o["expectation"] for o in results["outcomes"]][1] == "row_count_drop_vs_parent"
    page = write_report(tmp_path / "report", written)
    assert page == tmp_path / "report" / "index.html" and page.read_text() == files["index.html"]
    assert (tmp_path / "report" / DATA_DOCS_DIR / "static/images/logo.png").read_bytes() == b"\x89PNG\r\n"
    assert f'href="{DATA_DOCS_DIR}/index.html"' in files["index.html"]


def test_report_and_card_say_the_same_facts():
    """Both render the diff, the inputs and the quarantine reasons from the same facts (flows/facts.py)."""
    tables = {t: pl.DataFrame(schema=polars_schema(schema)) for t, schema in PUBLISHED.items()}
    tables["quarantine"] = QUARANTINE
    manifest = {
        "created_at": "2025-03-14T08:00:00+00:00", "parent": "v1", "schema_fingerprint": "0" * 64,
        "validation": {"success": True, "passed": 3, "evaluated": 3, "failed_warning": 0},
        "counts": {"raw_records": 1244, "appearances": 1240, "quarantined": 4},
        "inputs": INPUTS, "diff": {"summary": DIFF},
    }
    card = dataset_card("v2", tables, manifest)
    assert "## Changes since the parent version v1" in card
    assert "1,234 added, 0 removed, 2 re-identified, 17 changed, 5 unchanged." in card
    assert "| added | 1,234 | papers new in this version |" in card
    assert "| `abstract` | 15 |\n| `title` | 3 |" in card
    assert "| b.json | hf_daily_json | 40 | 2 | 45 | 3 | `cdcdcdcdcdcd` |" in card
    assert "| total: 2 files |  | 1,240 | 4 | 1,247 | 3 |  |" in card
    assert "| no title &lt;img src=x onerror=alert(1)&gt; &amp; \"quotes\" | 3 | 75.0% | 2 |" in card


def test_diff_fact_keeps_unknown_keys_and_says_when_no_field_changed():
    fact = facts.diff_summary({"added": 1, "note": "rebuilt", "changed_fields": {}}, "v3")
    assert fact["rows"] == [("added", "added", 1, "papers new in this version")]
    assert fact["extra"] == [("note", "rebuilt")] and fact["fields"] == []
    assert "No field changed in any paper present in both versions." in render_report(
        report(context={"diff": {"added": 1, "changed_fields": {}}, "parent": "v3"}))


def test_a_template_change_changes_the_code_fingerprint(tmp_path: Path, monkeypatch):
    (tmp_path / "flows" / "templates").mkdir(parents=True)
    (tmp_path / "flows" / "a.py").write_text("x = 1\n")
    template = tmp_path / "flows" / "templates" / "page.html.j2"
    template.write_text("<p>{{ x }}</p>\n")
    monkeypatch.setattr(fingerprint, "ROOT", tmp_path)
    before = fingerprint.source_fingerprint(("flows",), ())
    template.write_text("<p>{{ x }}!</p>\n")
    assert fingerprint.source_fingerprint(("flows",), ()) != before


def test_the_diffs_appearance_rows_read_as_before_and_after():
    fact = facts.diff_summary({"added": 0, "changed": 1, "appearances": {"old": 100112, "new": 100224}}, "v2")
    assert fact["extra"] == [("appearances", "100,112 → 100,224")]
