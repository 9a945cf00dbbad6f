"""The census (issue 9, item 3): every reader counts what its input announces apart from its parser, and a
shortfall is a quarantine row naming the file and the count, never silence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
from conftest import growth_ratio

from flows import census
from flows.extract import READERS, Dump, parsed_dump
from flows.readers.arxiv_listing import listing_census
from flows.readers.hf_html import HfPapersHtml
from flows.readers.hf_json import HfDailyJson
from flows.readers.hf_text import HfPapersText

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).parents[1] / "data" / "raw" / "000_c273f1a1012d9d74.txt"
SOURCES = [SEED] + sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix not in (".py", ".md"))


def parse(path: Path):
    return parsed_dump(Dump.load(path, path.parent), 2025)


@pytest.mark.parametrize(
    ("source", "announced"),
    [
        (SEED, 112),
        (FIXTURES / "hf_text" / "translated_header.txt", 4),
        (FIXTURES / "hf_text" / "orphan_abstract.txt", 4),
        (FIXTURES / "real" / "hf_json" / "daily_papers_2024-10-25.json", 2),
        (FIXTURES / "hf_json" / "missing_id.json", 5),
        (FIXTURES / "hf_json" / "empty_array.json", 0),
        (FIXTURES / "real" / "hf_html" / "daily_2024-10-25.html", 2),
        (FIXTURES / "real" / "hf_html" / "paper_page_2410.18533.html", 1),  # its similar papers are not its own
        (FIXTURES / "hf_html" / "daily.html", 4),  # links inside its <style> and <script> are not counted
        (FIXTURES / "real" / "arxiv_listing" / "cs_2026-01-20.txt", 12),
        (FIXTURES / "arxiv_listing" / "digests.mbox", 22),
        (FIXTURES / "arxiv_listing" / "listing_base64.eml", 0),  # base64 bodies show no id line: fewer, never more
        (FIXTURES / "real" / "feeds" / "hep-ex_2021-07-08.rdf", 3),
        (FIXTURES / "real" / "feeds" / "cs.AI_no_items_2025-09-18.xml", 0),
        (FIXTURES / "feeds" / "malformed.xml", 3),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_census_counts_what_the_file_announces(source, announced):
    assert parse(source).announced == announced


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_no_intact_fixture_falls_short_of_its_census(source):
    """The census is a lower bound: on every committed file, records + quarantine rows reach it."""
    parsed = parse(source)
    assert parsed.shortfall == 0
    assert not parsed.quarantine["reason"].str.starts_with("census_shortfall").any()
    if parsed.announced is not None:
        assert parsed.records.height + parsed.quarantine.height >= parsed.announced


def _losing(reader_cls, keep):
    """The reader's own read, with only the records `keep` lets through: a parser that lost the others."""
    original = reader_cls.read

    def read(self, dump, text, year):
        parsed = original(self, dump, text, year)
        return dataclasses.replace(parsed, records=parsed.records.filter(keep))

    return read


def test_a_parser_that_loses_records_shows_up_as_a_shortfall_row(tmp_path, monkeypatch):
    monkeypatch.setattr(HfPapersText, "read", _losing(HfPapersText, pl.col("position") <= 100))
    path = tmp_path / "2025-seed.txt"
    path.write_bytes(SEED.read_bytes())
    parsed = parse(path)
    assert (parsed.records.height, parsed.announced, parsed.shortfall) == (100, 112, 12)
    ((location, reason),) = parsed.quarantine.select("location", "reason").rows()
    assert location == "whole file"
    assert reason == (
        "census_shortfall: the file announces 112 title/abstract pairs; the hf_papers_text reader gave 100 "
        "records and 0 quarantined, 12 not accounted for"
    )


def test_a_parser_that_loses_a_whole_file_is_named_by_the_census(tmp_path, monkeypatch):
    monkeypatch.setattr(HfDailyJson, "read", _losing(HfDailyJson, pl.lit(False)))
    source = FIXTURES / "real" / "hf_json" / "daily_papers_2024-10-25.json"
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    parsed = parse(path)
    assert (parsed.records.height, parsed.announced, parsed.shortfall) == (0, 2, 2)
    assert parsed.quarantine["reason"].item().startswith('census_shortfall: the file announces 2 "paper" objects')
    row = {"path": path.name, "records": 0, "quarantined": 1, "announced": 2, "census_shortfall": 2}
    ok, observed, sample = census.no_input_lost_whole([row])
    assert (ok, observed, sample) == (
        False, "1 of 1 counted inputs yield none of the records they announce",
        [f"{path.name}: announces 2, gave 0"],
    )


def test_a_file_quarantined_whole_with_its_cause_does_not_block():
    rows = [
        {"path": "a.json", "records": 0, "quarantined": 1, "announced": 2, "census_shortfall": 1},  # truncated
        {"path": "b.txt", "records": 112, "quarantined": 0, "announced": 112, "census_shortfall": 0},
        {"path": "c.xml", "records": 0, "quarantined": 0, "announced": 0, "census_shortfall": 0},  # a quiet day
    ]
    assert census.no_input_lost_whole(rows)[0] is True
    ok, observed, sample = census.inputs_reach_their_census(rows)
    assert not ok and sample == ["a.json: announces 2, gave 0 records + 0 quarantined"]
    assert observed.startswith("1 input(s) fall short of their census: 1 of 114 announced records")
    assert census.census_counts(rows) == {
        "files_counted": 3, "announced": 114, "shortfall": 1, "files_short": ["a.json"], "files_lost_whole": []
    }
    # Versions published before the census have no counts: nothing to reconcile, nothing blocks.
    assert census.no_input_lost_whole([{"path": "old.txt", "records": 3}])[0] is True


# The four silent-loss inputs of the issue table, re-tried: whole, and nothing short.
def _unclosed_style_real_page(tmp_path):
    page = (FIXTURES / "real" / "hf_html" / "daily_2024-10-25.html").read_text()
    path = tmp_path / "daily_2024-10-25.html"
    path.write_text(page.replace("</head>", "<style>.card { color: red }\n</head>", 1))
    return path, 2


def _unclosed_script(tmp_path):
    path = tmp_path / "daily.html"
    path.write_text((FIXTURES / "hf_html" / "daily.html").read_text().replace("</script>", "", 1))
    return path, 4


def _cr_only_mbox(tmp_path):
    path = tmp_path / "digests.mbox"
    path.write_bytes((FIXTURES / "arxiv_listing" / "digests.mbox").read_bytes().replace(b"\n", b"\r"))
    return path, 22


def _papers_before_the_date_line(tmp_path):
    lines = SEED.read_text().split("\n")
    path = tmp_path / "2025-seed.txt"
    path.write_text("\n".join(lines[10:18] + lines[:10] + lines[18:]))
    return path, 112


@pytest.mark.parametrize(
    "make", [_unclosed_style_real_page, _unclosed_script, _cr_only_mbox, _papers_before_the_date_line],
    ids=lambda f: f.__name__.strip("_"),
)
def test_the_silent_loss_inputs_come_out_whole(tmp_path, make):
    path, expected = make(tmp_path)
    parsed = parse(path)
    assert (parsed.records.height, parsed.quarantine.height, parsed.announced) == (expected, 0, expected)


# Each census on text built to be its worst case: 8x the input must cost far less than 64x the time.
CENSUS_WORST_CASES = {
    "hf_text/short_lines": (HfPapersText().census, lambda n: "mar" + "a" * 30 + "\n" + "x\n" * (n // 2)),
    "hf_text/spaces": (HfPapersText().census, lambda n: " " * n + "\n" + "\xa0\n" * (n // 2)),
    "hf_text/long_line": (HfPapersText().census, lambda n: "t\n" + "a" * n),
    "hf_html/unclosed_blocks": (HfPapersHtml().census, lambda n: "<style><!--<script>" * (n // 19)),
    "hf_html/closed_blocks": (HfPapersHtml().census, lambda n: "<style></style><!---->" * (n // 22)),
    "hf_html/head_tags": (HfPapersHtml().census, lambda n: "<link rel=canonical " * (n // 20)),
    "hf_html/hrefs": (HfPapersHtml().census, lambda n: 'href= "/papers/2501.0000' * (n // 24)),
    "hf_json/keys": (HfDailyJson().census, lambda n: '"paper" :' * (n // 9)),
    "listing/openings": (listing_census, lambda n: "\\\\\narXiv:2601.00001 x\n" * (n // 22)),
    "feed/tags": (next(r for r in READERS if r.name == "arxiv_feed").census, lambda n: "<item" * (n // 5)),
}


@pytest.mark.parametrize("case", sorted(CENSUS_WORST_CASES))
def test_every_census_stays_linear(case):
    fn, make = CENSUS_WORST_CASES[case]
    assert growth_ratio(fn, make, small=200_000) < 24, f"{case} grows super-linearly"


def test_every_reader_has_a_census():
    for reader in READERS:
        assert reader.announces and reader.census("") == 0, reader.name
