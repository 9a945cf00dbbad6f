"""Tests for the validation gate (flows/validate.py), its suite (schemas/expectations.py) and its parts: the GX
adapter (flows/gx_suite.py) and the computed checks (flows/computed_checks.py). The report page on its own is
tests/test_report.py; here it is written from real runs.

One GX run on a valid candidate is shared by the module; each broken candidate costs one more (~0.5 s).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest

from flows.computed_checks import COMPUTED_CHECKS
from flows.publish import write_report
from flows.validate import Report, ValidationBlocked, validate_version
from schemas.expectations import COMPUTED, DATASET, GX, POLARS, RECORD, SUITE, Check
from schemas.tables import PUBLISHED, polars_schema

ARXIV_PAPER = "arxiv:2411.18673"
OLD_PAPER = "arxiv:hep-th/9901001"
TITLE_PAPER = "title:0123456789abcdef"
SCRIPT = "<script>alert(1)</script>"


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(PUBLISHED[table]))


def _paper(paper_id: str, arxiv_id: str | None, title: str, n: int, **extra) -> dict:
    day = dt.date(2025, 3, 13)
    return {
        "paper_id": paper_id,
        "arxiv_id": arxiv_id,
        "title": title,
        "title_raw": title,
        "abstract": "We study anecdotal evidence.",
        "abstract_raw": "We study anecdotal evidence.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.LG"],
        "language": "en",
        "code_url": None,
        "project_url": None,
        "published_at": None,
        "first_seen": day,
        "last_seen": day,
        "n_appearances": n,
        "flags": [],
        "aliases": [],
    } | extra


def _appearance(paper_id: str, position: int) -> dict:
    return {
        "paper_id": paper_id,
        "digest_date": dt.date(2025, 3, 13),
        "digest_date_source": "header+filename",
        "source_format": "hf_papers_text",
        "source_path": "000_seed.txt",
        "source_sha256": "ab" * 32,
        "position": position,
        "line": position * 4,
        "section": None,
    }


def valid_tables() -> dict[str, pl.DataFrame]:
    """A minimal candidate that passes every expectation: 3 papers, 21 appearances, 2 links, 1 quarantined."""
    papers = [
        _paper(
            ARXIV_PAPER,
            "2411.18673",
            "ART·V: Auto-Regressive Text-to-Video",
            19,
            code_url="https://github.com/x/art",
            first_seen=dt.date(2025, 3, 12),
        ),
        _paper(OLD_PAPER, "hep-th/9901001", "Anecdotal Evidence for Simple Textbooks", 1),
        _paper(
            TITLE_PAPER,
            None,
            "GUESS: GradUally Enriching SyntheSis",
            1,
            language=None,
            abstract=None,
            abstract_raw=None,
            project_url="https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
    ]
    # 21 appearances for 1 quarantined record keeps the quarantine share (4.5%) under its 5% warning.
    appearances = [_appearance(ARXIV_PAPER, i) for i in range(1, 20)]
    appearances += [_appearance(OLD_PAPER, 20), _appearance(TITLE_PAPER, 21)]
    links = [
        {
            "paper_id": ARXIV_PAPER,
            "url": "https://github.com/x/art",
            "kind": "code",
            "host": "github.com",
            "url_raw": "https://github.com/x/art.",
        },
        {
            "paper_id": TITLE_PAPER,
            "url": "https://en.wikipedia.org/wiki/Foo_(bar)",
            "kind": "project",
            "host": "en.wikipedia.org",
            "url_raw": "https://en.wikipedia.org/wiki/Foo_(bar)",
        },
    ]
    quarantine = [
        {
            "source_path": "000_seed.txt",
            "source_sha256": "ab" * 32,
            "location": "line 99",
            "reason": "no title",
            "raw_text": SCRIPT,
        }
    ]
    return {
        "papers": _frame("papers", papers),
        "appearances": _frame("appearances", appearances),
        "links": _frame("links", links),
        "quarantine": _frame("quarantine", quarantine),
    }


RAW_RECORDS = 22  # 21 appearances + 1 quarantined


def run(
    tmp: Path, tables: dict[str, pl.DataFrame], *, raw_records: int = RAW_RECORDS, parent=None, context=None
) -> Report:
    """Validate, then write the report into tmp as the pipeline does."""
    report = validate_version(tables, version="v7", raw_records=raw_records, parent=parent, context=context)
    write_report(tmp, report)
    return report


def failed(report: Report) -> set[tuple[str, str, str | None]]:
    return {(o.table, o.expectation, o.column) for o in report.outcomes if not o.success}


@pytest.fixture(scope="module")
def valid() -> Report:
    context = {
        "inputs": [{"path": "000_seed.txt", "records": 22, "link": "https://example.org/dump"}],
        "note": SCRIPT,
        "evil": "javascript:alert(1)",
    }
    return validate_version(valid_tables(), version="v7", raw_records=RAW_RECORDS, parent=None, context=context)


@pytest.fixture(scope="module")
def valid_dir(valid: Report, tmp_path_factory) -> Path:
    report_dir = tmp_path_factory.mktemp("valid") / "report"
    assert write_report(report_dir, valid) == report_dir / "index.html"
    return report_dir


def test_valid_candidate_passes_every_expectation(valid: Report):
    assert [o for o in valid.outcomes if not o.success] == []
    assert valid.success is True
    summary = valid.summary()
    assert summary == {
        "evaluated": len(valid.outcomes),
        "passed": len(valid.outcomes),
        "failed_blocking": 0,
        "failed_warning": 0,
        "quarantined_by_record_checks": {},
        "success": True,
    }
    # Every table gets its schema and not-null checks; the computed ones are there too.
    tables = {o.table for o in valid.outcomes}
    assert tables == {"papers", "appearances", "links", "quarantine"}
    assert any(o.expectation == "columns_have_contract_types" for o in valid.outcomes)


def test_suite_names_only_real_expectations_and_tables(valid: Report):
    import great_expectations.expectations as gxe

    for check in SUITE:
        assert check.table in PUBLISHED
        assert check.engine in (GX, POLARS) and check.kind in (RECORD, DATASET)
        assert hasattr(gxe, check.expectation) if check.engine == GX else check.expectation in COMPUTED_CHECKS
    assert set(COMPUTED_CHECKS) == COMPUTED  # every computed name has its definition, and nothing else does
    # Every non-nullable column of the contract has its not-null expectation, and nothing else does.
    required = {(t, f.name) for t, schema in PUBLISHED.items() for f in schema if not f.nullable}
    not_null = {
        (c.table, c.kwargs["column"]) for c in SUITE if c.expectation == "ExpectColumnValuesToNotBeNull"
    }
    assert not_null == required
    assert len(valid.outcomes) == len(SUITE)


def test_valid_candidate_writes_report_results_and_data_docs(valid: Report, valid_dir: Path):
    results = json.loads((valid_dir / "results.json").read_text())
    assert results["summary"]["success"] is True
    assert set(results["gx_results"]) == {"papers", "appearances", "links", "quarantine"}
    assert results["gx_results"]["papers"]["success"] is True
    assert len(results["outcomes"]) == len(valid.outcomes)
    # GX builds its Data Docs in a temporary directory; the Report carries them and write_report puts them here.
    assert "index.html" in valid.data_docs and valid.data_docs_error is None
    assert (valid_dir / "gx_data_docs" / "index.html").read_bytes() == valid.data_docs["index.html"]
    assert len(list((valid_dir / "gx_data_docs" / "validations").rglob("*.html"))) == 4
    html = (valid_dir / "index.html").read_text()
    assert "PUBLISHED-eligible" in html and "BLOCKED" not in html


def test_validation_writes_no_file(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = validate_version(valid_tables(), version="v7", raw_records=RAW_RECORDS, parent=None)
    assert report.success is True and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (dict(expectation="ExpectColumnValuesToBeUnique", kind=DATASET, engine=POLARS), "does not match"),
        (dict(expectation="columns_have_contract_types", kind=DATASET, engine=GX), "does not match"),
        (dict(expectation="ExpectColumnValuesToBeUnique", kind="row", engine=GX), "kind 'row'"),
        (dict(expectation="ExpectColumnValuesToBeUnique", kind=RECORD, engine=GX), "blocking record check"),
    ],
)
def test_a_check_that_contradicts_itself_fails_on_declaration(declared: dict, problem: str):
    with pytest.raises(ValueError, match=problem):
        Check("papers", kwargs={"column": "paper_id"}, **declared)


def test_reconciliation_outcome_shows_expected_rows(valid: Report):
    rows = next(o for o in valid.outcomes if o.expectation == "expect_table_row_count_to_equal")
    assert (rows.table, rows.blocking, rows.observed) == ("appearances", True, "21 rows (expected 21)")


def _with(tables: dict[str, pl.DataFrame], table: str, frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return tables | {table: frame}


def _set(table: str, column: str, values: dict[int, object]):
    """A breaker that overwrites column at the given row numbers."""

    def breaker(t: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        frame = t[table]
        column_values = frame.get_column(column).to_list()
        for row, value in values.items():
            column_values[row] = value
        return _with(
            t, table, frame.with_columns(pl.Series(column, column_values, dtype=frame.schema[column]))
        )

    return breaker


def _duplicate_paper(t):
    # Same paper twice, with n_appearances still adding up, so that uniqueness is the only failure.
    papers = pl.concat([t["papers"], t["papers"].filter(pl.col("paper_id") == OLD_PAPER)])
    papers = papers.with_columns(
        pl.when(pl.col("paper_id") == ARXIV_PAPER)
        .then(pl.col("n_appearances") - 1)
        .otherwise("n_appearances")
        .alias("n_appearances")
    )
    return _with(t, "papers", papers)


def _float_arxiv(t):
    """2411.18670 read through a float: 2411.1867, in arxiv_id and every paper_id that refers to it."""
    paper_id = pl.col("paper_id").replace(ARXIV_PAPER, "arxiv:2411.1867")
    arxiv_id = pl.col("arxiv_id").replace("2411.18673", "2411.1867")
    return {
        "papers": t["papers"].with_columns(paper_id=paper_id, arxiv_id=arxiv_id),
        "appearances": t["appearances"].with_columns(paper_id=paper_id),
        "links": t["links"].with_columns(paper_id=paper_id),
        "quarantine": t["quarantine"],
    }


def _duplicate_link_of_unknown_kind(t):
    return _with(t, "links", pl.concat([t["links"], t["links"].head(1).with_columns(kind=pl.lit("blog"))]))


TITLE = ("papers", "expect_column_values_to_not_match_regex", "title")
NOT_NULL = "expect_column_values_to_not_be_null"

# case -> (breaker, {failing outcome: its sample}); every other expectation must still pass.
BROKEN = {
    "duplicate paper_id": (
        _duplicate_paper,
        {("papers", "expect_column_values_to_be_unique", "paper_id"): [OLD_PAPER]},
    ),
    "LaTeX and HTML residue in titles": (
        _set("papers", "title", {0: "$\\alpha$-Net", 1: "ARTcdotV: Auto-Regressive", 2: "Fish &amp; Chips"}),
        {TITLE: ["$\\alpha$-Net", "ARTcdotV: Auto-Regressive", "Fish &amp; Chips"]},
    ),
    "float-mangled arxiv id": (
        _float_arxiv,
        {
            ("papers", "expect_column_values_to_match_regex", "arxiv_id"): ["2411.1867"],
            ("papers", "expect_column_values_to_match_regex", "paper_id"): ["arxiv:2411.1867"],
        },
    ),
    "bad URLs": (
        _set("links", "url", {0: "https://github.com/x/art.", 1: "javascript:alert(1)"}),
        {
            ("links", "expect_column_values_to_match_regex", "url"): ["javascript:alert(1)"],
            ("links", "expect_column_values_to_not_match_regex", "url"): ["https://github.com/x/art."],
        },
    ),
    "bad code_url": (
        _set("papers", "code_url", {1: "https://github.com/x /art"}),
        {("papers", "expect_column_values_to_match_regex", "code_url"): ["https://github.com/x /art"]},
    ),
    "duplicate link of unknown kind": (
        _duplicate_link_of_unknown_kind,
        {
            ("links", "expect_column_values_to_be_in_set", "kind"): ["blog"],
            ("links", "expect_compound_columns_to_be_unique", "paper_id, url"): [
                f"paper_id={ARXIV_PAPER}, url=https://github.com/x/art"
            ],
        },
    ),
    "orphan appearance": (
        _set("appearances", "paper_id", {19: "arxiv:2411.99999"}),
        {("appearances", "paper_ids_exist_in_papers", "paper_id"): ["arxiv:2411.99999"]},
    ),
    "language not ISO 639-1": (
        _set("papers", "language", {0: "EN"}),
        {
            ("papers", "expect_column_values_to_match_regex", "language"): ["EN"],
            ("papers", "expect_column_values_to_be_in_set", "language"): ["EN"],
        },
    ),  # a warning rides along
    "first_seen after last_seen": (
        _set("papers", "first_seen", {1: dt.date(2025, 3, 14)}),
        {
            ("papers", "expect_column_pair_values_a_to_be_greater_than_b", "last_seen, first_seen"): [
                "last_seen=2025-03-13, first_seen=2025-03-14"
            ]
        },
    ),
    "n_appearances do not add up": (
        _set("papers", "n_appearances", {0: 18}),
        {("papers", "expect_column_sum_to_be_between", "n_appearances"): []},
    ),
    "null title": (_set("papers", "title", {2: None}), {("papers", NOT_NULL, "title"): ["row 2"]}),
    "missing column": (
        lambda t: _with(t, "links", t["links"].drop("host")),
        {
            ("links", "expect_table_columns_to_match_ordered_list", None): [],
            ("links", "columns_have_contract_types", None): ["host: missing (contract String)"],
            ("links", NOT_NULL, "host"): [],
        },
    ),
    "retyped column": (
        lambda t: _with(t, "appearances", t["appearances"].with_columns(pl.col("position").cast(pl.Int64))),
        {("appearances", "columns_have_contract_types", None): ["position: Int64 (contract Int32)"]},
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_blocking_rule_blocks(case: str, tmp_path: Path):
    breaker, expected = BROKEN[case]
    report = run(tmp_path, breaker(valid_tables()))
    assert report.success is False
    assert failed(report) == set(expected)
    samples = {(o.table, o.expectation, o.column): o.sample for o in report.outcomes if not o.success}
    assert samples == expected
    assert all(
        o.blocking
        for o in report.outcomes
        if not o.success and o.expectation != "expect_column_values_to_be_in_set"
    )


def test_title_tag_and_nbsp_fail_their_own_expectations(tmp_path: Path):
    report = run(tmp_path, _set("papers", "title", {0: SCRIPT, 1: "Deep\u00a0Learning"})(valid_tables()))
    by_description = {o.description: o.sample for o in report.blocking_failures()}
    assert by_description == {
        "no LaTeX/HTML residue in titles ($, backslash, glued cdot, entities, tags)": [SCRIPT],
        "no NBSP or zero-width characters in titles": ["Deep⟨U+00A0⟩Learning"],
    }
    # GX 1.24.1 writes failing values into Data Docs unescaped; validate_version escapes them first.
    pages = [p.read_text() for p in (tmp_path / "gx_data_docs" / "validations").rglob("*.html")]
    assert len(pages) == 4
    assert not any("<script>alert" in page for page in pages)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in page for page in pages)


def test_missing_column_is_named(tmp_path: Path):
    report = run(tmp_path, _with(valid_tables(), "links", valid_tables()["links"].drop("host")))
    columns = next(o for o in report.blocking_failures() if o.expectation.endswith("match_ordered_list"))
    assert columns.observed == "missing host"
    not_null = next(o for o in report.blocking_failures() if o.column == "host")
    assert not_null.observed.startswith("could not evaluate: ")


def test_reconciliation_mismatch_blocks(tmp_path: Path):
    report = run(tmp_path, valid_tables(), raw_records=RAW_RECORDS + 1)
    assert report.success is False
    assert failed(report) == {("appearances", "expect_table_row_count_to_equal", None)}
    (outcome,) = report.blocking_failures()
    assert outcome.observed == "21 rows (expected 22)"
    assert "MISMATCH" in (tmp_path / "index.html").read_text()


def test_failing_outcome_carries_figures_and_the_exception_names_it(tmp_path: Path):
    report = run(tmp_path, _float_arxiv(valid_tables()))
    arxiv = next(o for o in report.blocking_failures() if o.column == "arxiv_id")
    assert arxiv.observed == "1 of 2 non-null values unexpected (50.0%); 1 null skipped"
    blocked = ValidationBlocked(None, report, tmp_path / "index.html")
    assert blocked.report is report
    assert str(blocked).startswith("version v7 blocked: 2 blocking expectation(s) failed (papers.arxiv_id ")
    assert str(blocked).endswith(f"report: {tmp_path / 'index.html'}")
    assert str(ValidationBlocked("the pipeline's words", report)) == "the pipeline's words"


def test_row_count_drop_vs_parent_warns_without_blocking(tmp_path: Path):
    parent = valid_tables()
    # 12 more papers, a third of them without abstract or language, so only the row count moves.
    extra = [
        _paper(
            f"title:{i:016x}",
            None,
            f"Paper {i}",
            1,
            **({"abstract": None, "language": None} if i % 3 else {}),
        )
        for i in range(12)
    ]
    parent["papers"] = pl.concat([parent["papers"], _frame("papers", extra)])
    report = run(tmp_path, valid_tables(), parent=parent)
    assert report.success is True
    assert failed(report) == {("papers", "row_count_drop_vs_parent", None)}
    (warning,) = report.warnings()
    assert warning.blocking is False
    assert warning.observed == "3 rows vs 15 in the parent (-80.0%)"
    assert "PUBLISHED-eligible" in (tmp_path / "index.html").read_text()

    # The same drop blocks when the run says so.
    strict = validate_version(
        valid_tables(), version="v7", raw_records=RAW_RECORDS, parent=parent,
        blocking_warnings=frozenset({"row_count_drop_vs_parent"}),
    )
    assert strict.success is False
    assert [(o.expectation, o.blocking) for o in strict.blocking_failures()] == [("row_count_drop_vs_parent", True)]


def test_null_share_and_language_drift_vs_parent_warn(tmp_path: Path):
    parent = valid_tables()
    parent["papers"] = parent["papers"].with_columns(language=pl.lit("en"), abstract=pl.lit("x"))
    now = valid_tables()
    now["papers"] = now["papers"].with_columns(language=pl.lit("de"))
    report = run(tmp_path, now, parent=parent)
    assert report.success is True
    assert failed(report) == {
        ("papers", "null_share_jump_vs_parent", "abstract"),
        ("papers", "top_language_share_shift_vs_parent", "language"),
        ("papers", "expect_column_values_to_be_in_set", "language"),
    }
    shift = next(o for o in report.warnings() if o.expectation == "top_language_share_shift_vs_parent")
    assert shift.observed == "en: 100.0% of papers in the parent, 0.0% now (-100.0 points)"


def test_tex_residue_and_ui_label_titles_warn_with_samples(tmp_path: Path):
    """Issue 8: what cleaning could not fix is counted and listed in the report, without blocking."""
    tables = valid_tables()
    extra = [
        _paper("title:00000000000000a1", None, "Collections including this paper", 1),
        _paper("title:00000000000000a2", None, "textsc{Foo}-Bench and X^{ab}", 1,
               abstract=r"We keep \unknown{x} and $x$ here, ℒ$ too; it costs $5M and ($40)."),
    ]
    tables["papers"] = pl.concat([tables["papers"], _frame("papers", extra)])
    tables["papers"] = tables["papers"].with_columns(n_appearances=pl.Series([17, 1, 1, 1, 1], dtype=pl.Int32))
    report = run(tmp_path, tables)
    assert report.success is True
    warnings = {o.description.split(" (")[0]: o for o in report.warnings()}
    titles = warnings["no half-stripped LaTeX left in titles"]
    assert titles.sample == ["textsc{Foo}-Bench and X^{ab}"] and titles.observed.startswith("1 of 5")
    abstracts = warnings["no TeX residue in abstracts"]
    assert abstracts.sample == [r"We keep \unknown{x} and $x$ here, ℒ$ too; it costs $5M and ($40)."]
    labels = warnings["no paper without an arXiv id is titled like a page label"]
    assert labels.sample == ["Collections including this paper"]
    assert labels.observed == "1 of 3 papers without an arXiv id are titled like a page label"
    html = (tmp_path / "index.html").read_text()
    assert "Collections including this paper" in html and "textsc{Foo}-Bench" in html


def test_side_content_an_old_reader_took_for_papers_is_caught(tmp_path: Path):
    """What the HF page reader published before issue 8 from a paper's page: a model and a collection card."""
    tables = valid_tables()
    extra = [
        _paper("title:00000000000000b1", None, "ZetangForward/Llama-3-8B-Instruct-80K-LOGO", 1, abstract=None,
               flags=["abstract_missing", "arxiv_id_missing"]),
        _paper("title:00000000000000b2", None, "Long Context", 1, abstract=None,
               flags=["abstract_missing", "arxiv_id_missing"]),
    ]
    tables["papers"] = pl.concat([tables["papers"], _frame("papers", extra)])
    tables["papers"] = tables["papers"].with_columns(n_appearances=pl.Series([17, 1, 1, 1, 1], dtype=pl.Int32))
    report = run(tmp_path, tables)
    (labels,) = [o for o in report.warnings() if o.expectation == "idless_titles_look_like_ui_labels"]
    # A title-only paper of a format without ids (the seed's GUESS..., no abstract) is not one.
    assert labels.sample == ["ZetangForward/Llama-3-8B-Instruct-80K-LOGO", "Long Context"]


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Upvote", True),
        ("Similar papers", True),
        ("Models citing this paper", True),
        ("12 upvotes", True),
        ("Community", True),
        ("Collections: A Study of Museum Archives", False),
        ("Upvote Prediction for Social Media Posts", False),
        ("GUESS: GradUally Enriching SyntheSis", False),
    ],
)
def test_ui_label_pattern_spares_real_titles(title: str, label: bool):
    from schemas.patterns import UI_LABEL_TITLE

    assert bool(pl.Series([title]).str.contains(UI_LABEL_TITLE).item()) is label


@pytest.mark.parametrize(
    ("abstract", "residue"),
    [
        (r"a \mathcal{L} left", True),
        ("math $x + y$ left", True),
        ("a converted ℒ$ with its closing dollar", True),
        ("a group x^{ab} left", True),
        ("the word newline left by \\newline", True),
        ("raised $5M and spent ($40) on $3 items", False),
        ("It costs $10-$20 per day", False),
        ("The ℒ-loss and x² are fine", False),
    ],
)
def test_abstract_residue_pattern(abstract: str, residue: bool):
    from schemas.patterns import ABSTRACT_TEX_RESIDUE

    assert bool(pl.Series([abstract]).str.contains(ABSTRACT_TEX_RESIDUE).item()) is residue


def test_quarantine_share_warns(tmp_path: Path):
    tables = valid_tables()
    tables["quarantine"] = _frame("quarantine", tables["quarantine"].to_dicts() * 3)
    report = run(tmp_path, tables, raw_records=21 + 3)
    assert report.success is True
    assert failed(report) == {("quarantine", "quarantine_share_of_raw_records", None)}
    (warning,) = report.warnings()
    assert (warning.observed, warning.sample) == (
        "3 of 24 raw records quarantined (12.5%)",
        ["no title (x3)"],
    )


# --- the HTML report ----------------------------------------------------------------------------------------


def _hrefs(html: str) -> list[str]:
    return re.findall(r"""href\s*=\s*["']?([^"' >]+)""", html, flags=re.I)


def test_html_is_self_contained_and_escapes_everything(valid_dir: Path):
    html = (valid_dir / "index.html").read_text()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the quarantined raw_text and the context note
    assert "<script" not in html.lower()
    assert not re.search(r"\ssrc\s*=", html, flags=re.I)
    assert not re.search(r"<link\b", html, flags=re.I)
    assert "@import" not in html and "url(" not in html
    assert set(_hrefs(html)) == {"https://example.org/dump", "gx_data_docs/index.html"}


def test_javascript_url_is_never_a_link(tmp_path: Path):
    context = {
        "inputs": [{"path": "javascript:alert(1)", "url": "javascript:alert(1)"}],
        "data": "data:text/html,<b>x</b>",
        "ok": "http://example.org/a?b=1&c=2",
    }
    report = run(tmp_path, _set("links", "url", {0: "javascript:alert(1)"})(valid_tables()), context=context)
    html = (tmp_path / "index.html").read_text()
    assert "javascript:alert(1)" in html  # shown as text, in the failing URL sample and the context
    assert _hrefs(html) == ["http://example.org/a?b=1&amp;c=2", "gx_data_docs/index.html"]
    assert report.success is False
