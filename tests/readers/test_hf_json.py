"""Reader for Hugging Face daily-papers JSON: ids as strings, dates, links, flags, cut and broken files."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from conftest import read_with, sniffs

from flows.readers.base import Dump, Parsed, decoded_text
from flows.readers.hf_json import HfDailyJson, json_items
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
OWN = FIXTURES / "hf_json"
READER = HfDailyJson()
UTC = dt.UTC
APR_2 = dt.date(2025, 4, 2)


def read(path: Path, year: int | None = None) -> Parsed:
    return read_with(READER, path, year)


def read_text(tmp_path: Path, text: str, name: str = "cut.json") -> Parsed:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read(path)


# ---------------------------------------------------------------------------------------------- a whole day


DAILY_ROWS = [
    # position, line, arxiv_id, arxiv_version, title_raw, digest_date, digest_date_source, record_flags
    (1, 2, "2503.02130", None, "$\\alpha$-Sparse Routing for Tiny Mixture-of-Experts",
     dt.date(2025, 3, 13), "submittedOnDailyAt", []),
    # submittedOnDailyAt 2025-03-13T23:30-02:00 is 01:30 UTC on the 14th.
    (2, 30, "2503.01001", 2, "Counting Pebbles with Language Models",
     dt.date(2025, 3, 14), "submittedOnDailyAt", []),
    # No submittedOnDailyAt: the file name's date; an empty paper.title falls back to the item's title.
    (3, 43, "2503.04444", None, "Withdrawn Results on Sparse Attention",
     dt.date(2025, 3, 14), "filename", ["withdrawn"]),
    (4, 54, "2412.20100", None, "Caf\\'e Tables: A Benchmark for Tabular Reasoning",
     dt.date(2025, 3, 13), "submittedOnDailyAt", []),
]


def test_daily_file_has_the_raw_records_schema_and_provenance():
    parsed = read(OWN / "daily_2025-03-14.json")
    records = parsed.records
    assert parsed.source_format == "hf_daily_json"
    assert records.schema == polars_schema(RAW_RECORDS)
    assert parsed.quarantine.schema == polars_schema(QUARANTINE) and parsed.quarantine.height == 0
    assert records["source_path"].unique().to_list() == ["daily_2025-03-14.json"]
    assert records["source_format"].unique().to_list() == ["hf_daily_json"]
    assert records["source_sha256"][0] == Dump.load(OWN / "daily_2025-03-14.json", OWN).sha256


@pytest.mark.parametrize("expected", DAILY_ROWS, ids=lambda row: f"item{row[0]}")
def test_daily_items(expected):
    records = read(OWN / "daily_2025-03-14.json").records
    columns = ["position", "line", "arxiv_id", "arxiv_version", "title_raw", "digest_date",
               "digest_date_source", "record_flags"]
    assert records.select(columns).rows()[expected[0] - 1] == expected


def test_daily_fields_taken_as_given():
    records = read(OWN / "daily_2025-03-14.json").records
    # Hard line breaks and TeX stay: cleaning unwraps them, not the reader.
    assert records["abstract_raw"][0] == (
        "We study routing in mixture-of-experts models with fewer than ten experts.\n"
        "A sparse $\\alpha$-gate keeps 0.6\\% of the tokens on a single expert while\n"
        "matching dense quality. Code: https://github.com/example-lab/alpha-sparse."
    )
    # paper.summary missing: the item's summary.
    assert records["abstract_raw"][2] == "An attention pattern that we no longer stand behind."
    # Hidden authors are kept: "hidden" hides an HF profile, not a name on the paper.
    assert records["authors"].to_list() == [
        ["Mira Okonkwo", "Tobias Lindqvist", "Hana Sato"],
        ["Priya Raman"],
        [],
        ["Léa Fournier", "Omar Haddad"],
    ]
    assert records["published_at"].to_list() == [
        dt.datetime(2025, 3, 12, 17, 59, 58, tzinfo=UTC), dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
        dt.datetime(2025, 3, 6, 12, 0, tzinfo=UTC), None,
    ]
    assert records["source_links"].to_list() == [
        [{"url": "https://github.com/example-lab/alpha-sparse", "kind": "code"}],
        [{"url": "https://pebbles.example.org/", "kind": "project"}],
        [],
        [{"url": "https://github.com/example-lab/cafe-tables", "kind": "code"},
         {"url": "https://cafe-tables.example.org", "kind": "project"}],
    ]
    assert records["section"].null_count() == records.height
    assert records["categories"].list.len().sum() == 0


# ---------------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("position", "arxiv_id", "flags"),
    [
        (1, "2503.02130", ["id_was_number"]),  # a JSON number keeps its text, trailing zero included
        (2, "2412.10000", ["id_was_number", "arxiv_id_zero_padded"]),  # a float writer's 2412.1, restored
        (3, "1411.0420", []),  # pre-2015 ids have four digits after the dot
    ],
)
def test_numeric_ids_keep_their_digits(position, arxiv_id, flags):
    records = read(OWN / "numeric_id.json").records
    row = records.row(position - 1, named=True)
    # A minified file is one line: every item starts on line 1.
    assert (row["arxiv_id"], row["record_flags"], row["line"]) == (arxiv_id, flags, 1)


def test_items_without_ids_are_kept_or_quarantined_without_shifting_the_rest():
    parsed = read(OWN / "missing_id.json")
    assert parsed.records.select("position", "line", "arxiv_id", "title_raw", "record_flags").rows() == [
        (1, 2, "2502.11111", "First Complete Item", []),
        (2, 4, None, "An Item Without Its Id", ["arxiv_id_missing"]),
        (5, 8, None, "An Id That Is Not From arXiv", ["arxiv_id_unrecognised", "abstract_missing"]),
        (6, 10, "2502.22222", "Last Complete Item", []),
    ]
    assert parsed.quarantine.select("source_path", "location", "reason", "raw_text").rows() == [
        ("missing_id.json", "item 3", "item has neither a paper id nor a title",
         '{"paper": {"upvotes": 3, "authors": []}, "numComments": 0}'),
        ("missing_id.json", "item 4", "item is not a JSON object", '"not an object"'),
    ]


# --------------------------------------------------------------------------------------------- cut and broken


def test_truncated_file_keeps_whole_items_and_quarantines_the_rest():
    parsed = read(OWN / "truncated.json")
    assert parsed.records.select("position", "line", "arxiv_id", "title_raw").rows() == [
        (1, 2, "2501.00011", "Before the Cut, One"),
        (2, 10, "2501.00012", "Before the Cut, Two"),
    ]
    q = parsed.quarantine
    assert q.select("location", "reason").rows() == [("line 18", "truncated JSON")]
    assert q["raw_text"][0].startswith('{\n    "paper": {\n      "id": "2501.00013"')
    assert q["raw_text"][0].endswith("This abstract stops mid-sent")


ONE = '{"paper": {"id": "2501.00001", "title": "One"}}'
REST = "; rest of the file not read"


@pytest.mark.parametrize(
    ("text", "n_records", "problem"),
    [
        (f"[{ONE},\n", 1, ("line 2", "truncated JSON", None)),  # cut right after a comma
        (f"[{ONE}", 1, ("line 1", "truncated JSON", None)),  # cut before the closing bracket
        (f'[{ONE}, {{"paper": {{"id": tr', 1, ("line 1", "truncated JSON", '{"paper": {"id": tr')),
        (f'[{ONE} {{"paper": {{}}}}]', 1,
         ("line 1", "malformed JSON: expected ',' or ']' between items; rest of the file not read",
          '{"paper": {}}]')),
        (f'[{ONE}, {{"paper": {{"id" "x"}}}}, {ONE}]', 1,
         ("line 1",
          "malformed JSON (Expecting ':' delimiter at line 1, column 67); rest of the file not read",
          f'{{"paper": {{"id" "x"}}}}, {ONE}]')),
        (f"[{ONE}]\n]garbage", 1, ("line 2", "unexpected content after the JSON value", "]garbage")),
        (f"[{ONE}, " + "[" * 50_000, 1, ("line 1", f"malformed JSON (nested too deeply){REST}", "[" * 2000)),
        (f"[{ONE}]\n", 1, None),
    ],
    ids=["after-comma", "no-bracket", "mid-literal", "missing-comma", "bad-item", "trailing", "too-deep",
         "whole"],
)
def test_cut_and_broken_arrays(tmp_path, text, n_records, problem):
    parsed = read_text(tmp_path, text)
    assert parsed.records["arxiv_id"].to_list() == ["2501.00001"] * n_records
    assert parsed.quarantine.select("location", "reason", "raw_text").rows() == ([problem] if problem else [])


def test_json_items_reports_offsets():
    assert json_items('[{"a": 1}, {"b"') == ([(1, 9, {"a": "1"})], (11, "truncated JSON"))
    assert json_items("  []  ") == ([], None)


# ---------------------------------------------------------------------------------------------- other shapes


@pytest.mark.parametrize(
    ("fixture", "rows"),
    [
        ("wrapper.json", [(1, 3, "2504.00101", APR_2), (2, 5, "2504.00102", APR_2)]),
        ("single.json", [(1, 1, "2504.00201", dt.date(2025, 4, 3))]),
        ("empty_array.json", []),
    ],
)
def test_wrapper_single_object_and_empty_array(fixture, rows):
    parsed = read(OWN / fixture)
    assert parsed.records.select("position", "line", "arxiv_id", "digest_date").rows() == rows
    assert parsed.quarantine.height == 0
    assert parsed.records.schema == polars_schema(RAW_RECORDS)


def test_cp1252_file_is_read_after_fallback_decoding():
    data = (OWN / "cp1252.json").read_bytes()
    assert decoded_text(data)[1] == "cp1252"
    row = read(OWN / "cp1252.json").records.row(0, named=True)
    assert row["title_raw"] == "Café Menus as “Tables” — Revisited"
    assert row["abstract_raw"] == "Naïve parsers fail on café menus."
    assert row["authors"] == ["José Müller"]


# ---------------------------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("path", sorted(OWN.iterdir()), ids=lambda p: p.name)
def test_sniff_own_fixtures(path):
    assert sniffs(READER, path) is (path.name not in {"empty.json", "binary.bin"})



@pytest.mark.parametrize("text", ['{"not": "a digest"}', "[1, 2, 3]", "", "\x00\x01junk"])
def test_sniff_rejects_json_that_is_not_hf(text):
    assert READER.sniff(text) is False


# ---------------------------------------------------------------------------------------------- real 2024 shape (issue 8)

REAL_2024 = FIXTURES / "real" / "hf_json" / "daily_papers_2024-10-25.json"


def test_2024_response_is_dated_by_the_items_publishedAt_not_the_file_time(tmp_path):
    # The 2024 API shape has no submittedOnDailyAt; each item's own publishedAt is when it joined the daily list.
    # Copied under a name without a date and with an unrelated file time, the list's day still comes through.
    path = tmp_path / "daily_papers.json"
    path.write_bytes(REAL_2024.read_bytes())
    os.utime(path, (dt.datetime(2026, 12, 3, tzinfo=UTC).timestamp(),) * 2)
    records = read(path).records
    assert records.select("arxiv_id", "digest_date", "digest_date_source").rows() == [
        ("2410.18533", dt.date(2024, 10, 25), "publishedAt"),
        ("2410.18745", dt.date(2024, 10, 25), "publishedAt"),
    ]
    # The paper's publishedAt is arXiv's date: it stays the publication time.
    assert records["published_at"].to_list() == [
        dt.datetime(2024, 10, 24, 8, 27, 26, tzinfo=UTC),
        dt.datetime(2024, 10, 24, 13, 51, 50, tzinfo=UTC),
    ]
    assert records["authors"][1].to_list()[:2] == ["Chenxin An", "Jun Zhang"]


def test_single_paper_object_is_not_dated_by_its_arxiv_publishedAt(tmp_path):
    paper = json.loads(REAL_2024.read_text(encoding="utf-8"))[0]["paper"]
    records = read_text(tmp_path, json.dumps(paper), name="paper_2024-11-02.json").records
    assert records.select("digest_date", "digest_date_source").row(0) == (dt.date(2024, 11, 2), "filename")


def test_an_undated_item_takes_the_lists_day_rather_than_the_file_time(tmp_path):
    items = json.loads(REAL_2024.read_text(encoding="utf-8"))
    del items[1]["publishedAt"]
    records = read_text(tmp_path, json.dumps(items), name="undated.json").records
    assert records.select("digest_date", "digest_date_source").rows() == [
        (dt.date(2024, 10, 25), "publishedAt"),
        (dt.date(2024, 10, 25), "publishedAt+list"),
    ]


def test_submittedOnDailyAt_shape_keeps_the_item_publishedAt_for_what_it_is(tmp_path):
    # Newer responses repeat the paper's arXiv date as the item's publishedAt: never a digest date there.
    records = read(OWN / "daily_2025-03-14.json").records
    assert "publishedAt" not in records["digest_date_source"].to_list()
