"""Reader for a saved Hugging Face papers page: cards, ids from /papers/ links, page noise ignored, dates."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import read_with, sniffs

from flows.readers.base import Dump, Parsed, decoded_text
from flows.readers.hf_html import HfPapersHtml
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
OWN = FIXTURES / "hf_html"
READER = HfPapersHtml()
UTC = dt.UTC
COLUMNS = ["position", "line", "arxiv_id", "arxiv_version", "title_raw", "abstract_raw", "record_flags"]


def read(path: Path, year: int | None = None) -> Parsed:
    return read_with(READER, path, year)


DAILY = [
    (1, 35, "2503.02130", None, "$\\alpha$-Sparse Routing for Tiny Mixture-of-Experts",
     ("We study routing in mixture-of-experts models with fewer than ten experts.\n"
      "A sparse gate keeps 0.6\\% of the tokens on a single expert."), []),
    # Absolute href with a version; entities unescaped; inline tags dropped.
    (2, 43, "2503.01001", 2, "Counting Pebbles & Stones with Café Menus",
     "Language models miscount small sets; we show why <and how> to fix it.", []),
    # An unclosed <p> ends at the next one; the longer paragraph is the abstract.
    (3, 50, "2412.20100", None, "Tables From Menus",
     "A second paragraph that is longer than the first one, so it is the one taken as the abstract.", []),
    (4, 55, "2502.00042", None, "A Paper Without Its Abstract", None, ["abstract_missing"]),
]


@pytest.mark.parametrize("expected", DAILY, ids=lambda row: f"card{row[0]}")
def test_daily_cards(expected):
    records = read(OWN / "daily.html").records
    assert records.select(COLUMNS).rows()[expected[0] - 1] == expected


def test_daily_page_schema_provenance_and_date():
    parsed = read(OWN / "daily.html")
    records = parsed.records
    assert parsed.source_format == "hf_papers_html"
    assert records.schema == polars_schema(RAW_RECORDS)
    assert parsed.quarantine.schema == polars_schema(QUARANTINE) and parsed.quarantine.height == 0
    assert records["source_path"].unique().to_list() == ["daily.html"]
    assert records["source_sha256"][0] == Dump.load(OWN / "daily.html", OWN).sha256
    # The page's <time> (outside the cards) dates the digest; a card's own <time> is its publication date.
    assert records.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2025, 3, 13), "time_element")
    ]
    assert records["published_at"].to_list() == [None, dt.datetime(2025, 3, 3, 9, tzinfo=UTC), None, None]


def test_scripts_styles_and_navigation_are_ignored():
    records = read(OWN / "daily.html").records
    # 2599.* ids only appear inside <script> and <style>; nav and footer links are not cards.
    assert records["arxiv_id"].to_list() == ["2503.02130", "2503.01001", "2412.20100", "2502.00042"]
    assert not records["title_raw"].str.contains("JavaScript|Injected|Trending").any()


def test_heading_mode_and_date_heading():
    parsed = read(OWN / "heading_2025.html")
    assert parsed.records.select(COLUMNS).rows() == [
        (1, 8, "2503.10001", None, "Heading Mode One", "Cards are plain divs on this page.", []),
        (2, 12, "2503.10002", None, "Heading Mode Two", "The marked paragraph wins.", []),
        # The footer's longer paragraph lies outside the card's container.
        (3, 17, "2503.10003", None, "Heading Mode Three", "Short abstract.", []),
    ]
    # "Mar 14" heading + the year in the file name.
    assert parsed.records.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2025, 3, 14), "header+filename")
    ]


def test_cards_without_ids_are_kept_or_quarantined_without_shifting_the_rest():
    parsed = read(OWN / "missing_id_2025-03-15.html")
    assert parsed.records.select("position", "line", "arxiv_id", "title_raw", "record_flags").rows() == [
        (1, 5, "2503.20001", "First Card With Its Id", []),
        (2, 9, None, "A Card Whose Heading Has No Link", ["arxiv_id_missing"]),
        (4, 17, "2503.20004", "", ["title_missing"]),
        (5, 21, "2503.20005", "Last Card With Its Id", []),
    ]
    # No <time> and no date heading: the date in the file name.
    assert parsed.records.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2025, 3, 15), "filename")
    ]
    assert parsed.quarantine.select("location", "reason", "raw_text").rows() == [
        ("line 13", "card has neither a /papers/<id> link nor a title", "No heading and no paper link."),
    ]


def test_truncated_page_keeps_the_cut_card_flagged():
    parsed = read(OWN / "truncated.html")
    assert parsed.records.select(COLUMNS).rows() == [
        (1, 5, "2503.30001", None, "Whole Card", "Whole abstract.", []),
        (2, 9, "2503.30002", None, "Card Cut in Its Abstract", "This abstract stops in the mid",
         ["truncated"]),
    ]
    assert parsed.quarantine.height == 0


def test_page_cut_inside_a_heading_is_quarantined(tmp_path):
    path = tmp_path / "cut.html"
    path.write_text('<!DOCTYPE html>\n<html><body>\n<article><h3><a href="/papers/2503.30001">Whole</a></h3>'
                    "<p>Whole.</p></article>\n<article>\n  <h3>")
    parsed = read(path)
    assert parsed.records["arxiv_id"].to_list() == ["2503.30001"]
    assert parsed.quarantine.select("location", "reason").rows() == [("line 4", "truncated HTML")]


# Unclosed tag soup nested deeper than Python recurses; a marked section html.parser asserts on.
@pytest.mark.parametrize("noise", ["<div>" * 20_000, "<![OCTYPE html>"], ids=["deep-soup", "bad-section"])
def test_hostile_markup_does_not_break_the_page(tmp_path, noise):
    card = '<article><h3><a href="/papers/2503.50001">Kept</a></h3><p>Still read.</p></article>'
    path = tmp_path / "noisy.html"
    path.write_text(f"<!DOCTYPE html>\n<html><body>{noise}\n{card}</body></html>")
    records = read(path).records
    assert records.select("arxiv_id", "title_raw", "abstract_raw", "line").rows() == [
        ("2503.50001", "Kept", "Still read.", 3)
    ]


def test_cp1252_page_is_read_after_fallback_decoding():
    assert decoded_text((OWN / "cp1252.html").read_bytes())[1] == "cp1252"
    row = read(OWN / "cp1252.html").records.row(0, named=True)
    assert (row["title_raw"], row["abstract_raw"]) == (
        "Café Reviews and “Sentiment” — A Study", "Naïve models misread café reviews."
    )


# ---------------------------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("path", sorted(OWN.iterdir()), ids=lambda p: p.name)
def test_sniff_own_fixtures(path):
    assert sniffs(READER, path) is (path.name not in {"empty.html", "binary.bin"})



@pytest.mark.parametrize(
    "text",
    [
        "<!DOCTYPE html><html><body><a href='/papers/trending'>Trending</a></body></html>",  # no paper id
        "A text dump that mentions /papers/2503.02130 but is not HTML.",
        '<rss version="2.0"><channel><link>https://huggingface.co/papers/2503.02130</link></channel></rss>',
    ],
)
def test_sniff_rejects_pages_without_paper_links_and_non_html(text):
    assert READER.sniff(text) is False


# ---------------------------------------------------------------------------------------------- real page layouts (issue 8)

REAL = FIXTURES / "real" / "hf_html"
PAPER_PAGE = REAL / "paper_page_2410.18533.html"
DAILY_PAGE = REAL / "daily_2024-10-25.html"
LOGO = "LOGO -- Long cOntext aliGnment via efficient preference Optimization"


def test_paper_page_is_one_record_of_its_paper_and_none_of_its_side_content():
    parsed = read(PAPER_PAGE)
    assert parsed.quarantine.is_empty()
    # Not the similar paper a comment links, not the model or the collection citing it: the paper itself.
    assert parsed.records.select("position", "arxiv_id", "title_raw").rows() == [(1, "2410.18533", LOGO)]
    row = parsed.records.row(0, named=True)
    assert row["abstract_raw"].startswith("Long-context models(LCMs) have shown great potential")
    assert row["authors"] == ["Zecheng Tang", "Zechen Sun", "Juntao Li", "Qiaoming Zhu", "Min Zhang"]
    # Dated by the paper's day on the daily list, not by the <time> of a comment, a model or a collection.
    assert (row["digest_date"], row["digest_date_source"]) == (dt.date(2024, 10, 25), "submittedOnDailyAt")
    assert row["published_at"] == dt.datetime(2024, 10, 24, 8, 27, 26, tzinfo=UTC)


def test_paper_page_without_its_embedded_data_still_gives_only_the_paper(tmp_path):
    text = re.sub(r' data-props="[^"]*"', "", PAPER_PAGE.read_text(encoding="utf-8"))
    path = tmp_path / "paper_2024-10-25.html"
    path.write_text(text, encoding="utf-8")
    parsed = read(path)
    assert parsed.records.select("arxiv_id", "title_raw", "digest_date", "digest_date_source").rows() == [
        ("2410.18533", LOGO, dt.date(2024, 10, 25), "filename")
    ]
    assert parsed.records["abstract_raw"][0].startswith("Long-context models(LCMs)")
    assert parsed.quarantine.is_empty()


def test_daily_page_reads_its_embedded_list_once():
    parsed = read(DAILY_PAGE)
    records = parsed.records
    assert records.select("position", "arxiv_id", "digest_date", "digest_date_source").rows() == [
        (1, "2410.18533", dt.date(2024, 10, 25), "page_date"),
        (2, "2410.18745", dt.date(2024, 10, 25), "page_date"),
    ]
    assert records["authors"][1].to_list()[0] == "Chenxin An"
    assert parsed.quarantine.is_empty()


def test_daily_page_without_a_day_is_dated_by_its_items(tmp_path):
    text = DAILY_PAGE.read_text(encoding="utf-8").replace("&quot;dateString&quot;:&quot;2024-10-25&quot;,", "")
    path = tmp_path / "daily.html"
    path.write_text(text, encoding="utf-8")
    assert read(path).records.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2024, 10, 25), "publishedAt")
    ]


@pytest.mark.parametrize("tag", ["style", "script"])
def test_unclosed_style_or_script_hides_no_card(tmp_path, tag):
    """html.parser (and a browser) reads everything after an unclosed <style>/<script> as its content: the
    page's cards must come out all the same, flagged, with what the style/script said never taken for a card."""
    path = tmp_path / "daily.html"
    path.write_text((OWN / "daily.html").read_text().replace(f"</{tag}>", "", 1))
    records = read(path).records
    assert records.select(COLUMNS[:5]).rows() == [row[:5] for row in DAILY]
    assert all("html_recovered" in flags for flags in records["record_flags"])


def test_style_opened_again_before_its_end_is_read_as_unclosed(tmp_path):
    # The first <style> lost its end tag; the end tag of a later one must not make it swallow the cards between.
    page = (OWN / "daily.html").read_text().replace("</style>", "", 1)
    page = page.replace("</main>", "<style>p { color: red }</style></main>", 1)
    path = tmp_path / "daily.html"
    path.write_text(page)
    assert read(path).records["arxiv_id"].to_list() == [row[2] for row in DAILY]
