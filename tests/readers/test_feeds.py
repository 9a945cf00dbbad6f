"""Reader for arXiv RSS / Atom feeds: ids, sections, old-style titles, dates, broken and hostile XML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import read_with, sniffs

from flows.readers.base import Dump, Parsed, decoded_text
from flows.readers.feeds import ArxivFeed, html_text
from flows.readers.vocabulary import arxiv_id_parts, instant
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
OWN = FIXTURES / "feeds"
READER = ArxivFeed()
UTC = dt.UTC


def read(path: Path, year: int | None = None) -> Parsed:
    return read_with(READER, path, year)


# ---------------------------------------------------------------------------------------------- well-formed

# fixture -> (position, line, arxiv_id, arxiv_version, section, title_raw) per item
IDS = {
    "rss_new.xml": [
        (1, 17, "2601.04211", 1, "new", "Sparse Probes for Dense Retrieval"),
        (2, 30, "2601.03987", 1, "cross-list", "$\\mathcal{O}(n)$ Attention for Long Legal Documents"),
        (3, 43, "hep-th/9901001", 3, "replaced", "Strings on a Made-Up Lattice"),
        (4, 54, "2512.11111", 2, "replaced", "Benchmarks That Age Well"),
    ],
    "atom_new.xml": [
        (1, 8, "2601.05001", 1, "new", "Reading Receipts with Small Vision-Language Models"),
        (2, 27, "2601.05002", 1, "cross-list", "Grammar Drift in Chat Logs"),
        (3, 41, "2512.09999", 2, "replaced", "A Corpus of Invented Dialects"),
    ],
    # Old style: "Title. (arXiv:ID [cat] MARK)" -> the title alone; no mark means new.
    "rss_old.xml": [
        (1, 8, "2304.01974", 1, "new", "Tiny Tokenizers Are Enough"),
        (2, 15, "2303.11111", 2, "replaced", "What Is a Benchmark?"),
        (3, 21, "2304.02002", 1, "cross-list", "Cross Talk in Vision Models"),
    ],
    "rss1_old.rdf": [
        (1, 24, "2304.03003", 1, "new", "Planning with Paper Maps"),
        (2, 31, "2304.03004", 2, "replaced", "Games Without Rules"),
    ],
}
# fixture -> (authors, categories) per item
PEOPLE = {
    "rss_new.xml": [
        (["Ana Lima", "Kofi Mensah", "Yuki Tan"], ["cs.IR", "cs.CL"]),
        (["Rosa Delgado"], ["cs.LG", "cs.CL"]),
        (["Ivan Petrov", "Lena Kowalski"], ["hep-th"]),
        (["Sam Okafor", "Mei Chen"], ["cs.AI", "cs.CL"]),  # "A and B"
    ],
    "atom_new.xml": [
        (["Noor Aziz", "Pieter de Vries"], ["cs.CL", "cs.CV"]),
        (["Ama Owusu"], ["cs.HC"]),
        (["Tariq Nasser"], ["cs.CL", "cs.SD"]),  # primary_category first, not repeated
    ],
    # Old feeds: authors inside <a> tags, entities escaped twice; categories from the title's brackets.
    "rss_old.xml": [
        (["Jane Doe", "José Roe"], ["cs.CL"]),
        (["Kim Bell"], ["cs.LG"]),
        (["Aiko Ng", "Marco Vale"], ["cs.CV"]),
    ],
    "rss1_old.rdf": [(["Eli Frost"], ["cs.AI"]), (["Ruth Moss", "Per Lund"], ["cs.GT"])],
}
# fixture -> the digest date every item gets, from the feed itself
DATES = {
    "rss_new.xml": dt.date(2026, 1, 8),  # channel pubDate Thu, 08 Jan 2026 00:00:00 -0500
    "atom_new.xml": dt.date(2026, 1, 9),  # feed <updated>
    "rss_old.xml": dt.date(2023, 4, 7),  # channel lastBuildDate (no pubDate)
    "rss1_old.rdf": dt.date(2023, 4, 7),  # dc:date 2023-04-06T20:30-05:00 is the 7th in UTC
}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [(name, row) for name, rows in IDS.items() for row in rows],
    ids=lambda v: v if isinstance(v, str) else f"item{v[0]}",
)
def test_ids_versions_sections_titles(fixture, expected):
    records = read(OWN / fixture).records
    columns = ["position", "line", "arxiv_id", "arxiv_version", "section", "title_raw"]
    assert records.select(columns).rows()[expected[0] - 1] == expected


@pytest.mark.parametrize(("fixture", "expected"), PEOPLE.items())
def test_authors_and_categories(fixture, expected):
    assert read(OWN / fixture).records.select("authors", "categories").rows() == expected


@pytest.mark.parametrize(("fixture", "expected"), DATES.items())
def test_digest_date_comes_from_the_feed(fixture, expected):
    records = read(OWN / fixture).records
    assert records.select("digest_date", "digest_date_source").unique().rows() == [(expected, "feed_date")]
    assert records["record_flags"].list.len().sum() == 0


@pytest.mark.parametrize("fixture", list(IDS))
def test_feeds_have_the_raw_records_schema_and_provenance(fixture):
    parsed = read(OWN / fixture)
    assert parsed.source_format == "arxiv_feed"
    assert parsed.records.schema == polars_schema(RAW_RECORDS)
    assert parsed.quarantine.schema == polars_schema(QUARANTINE) and parsed.quarantine.height == 0
    assert parsed.records.height == len(IDS[fixture])
    assert parsed.records["source_path"].unique().to_list() == [fixture]
    assert parsed.records["source_format"].unique().to_list() == ["arxiv_feed"]
    assert parsed.records["source_sha256"][0] == Dump.load(OWN / fixture, OWN).sha256


def test_new_style_abstracts_follow_the_announce_prefix():
    records = read(OWN / "rss_new.xml").records
    assert records["abstract_raw"].to_list() == [
        "We probe dense retrievers with sparse linear maps and find that recall drops when k < 10.",
        "Linear attention on contracts of 200 pages.",
        "A lattice that does not exist, revisited with a corrected appendix.",
        "We track twelve benchmarks over five years.",
    ]
    assert records["published_at"].unique().to_list() == [dt.datetime(2026, 1, 8, 5, 0, tzinfo=UTC)]


def test_old_style_html_description_and_authors_become_text():
    records = read(OWN / "rss_old.xml").records
    assert records["abstract_raw"][0] == (
        "We show that tiny tokenizers & small vocabularies suffice\nfor most of the languages we tried."
    )
    assert records["published_at"].null_count() == 3


def test_atom_api_fields():
    row = read(OWN / "atom_new.xml").records.row(2, named=True)
    assert row["abstract_raw"] == "Twelve dialects that nobody speaks, transcribed by\nvolunteers."
    assert (row["comments"], row["journal_ref"], row["doi"]) == (
        "12 pages, 3 figures", "J. Invented Ling. 3 (2026) 1-12", "10.99999/jil.2026.001"
    )
    assert row["published_at"] == dt.datetime(2025, 12, 20, 10, 0, tzinfo=UTC)


def test_cp1252_feed_is_read_after_fallback_decoding():
    assert decoded_text((OWN / "cp1252.xml").read_bytes())[1] == "cp1252"
    row = read(OWN / "cp1252.xml").records.row(0, named=True)
    assert row["title_raw"] == "Café Reviews and “Sentiment” — A Study"
    assert row["abstract_raw"] == "Naïve models misread café reviews."
    assert row["authors"] == ["José Núñez", "Zoë Fischer"]


# ---------------------------------------------------------------------------------------------- missing parts


def test_items_without_ids_or_dates():
    parsed = read(OWN / "missing_id.xml")
    # No channel date: each item's own date, else the file's (no date in the name, so its time).
    assert parsed.records.select(
        "position", "line", "arxiv_id", "arxiv_version", "section", "title_raw", "digest_date_source",
        "record_flags",
    ).rows() == [
        (1, 5, "2601.07001", 1, "new", "An Item With Its Id", "item_date", []),
        (2, 15, None, None, "new", "An Item Without Any Id", "item_date", ["arxiv_id_missing"]),
        (4, 24, "2601.07004", 1, None, "An Announce Type Nobody Knows", "file_mtime",
         ["announce_type_unrecognised", "abstract_missing"]),
    ]
    assert parsed.records["digest_date"][:2].to_list() == [dt.date(2026, 1, 7)] * 2
    assert parsed.quarantine.select("location", "reason", "raw_text").rows() == [
        ("line 21", "item has neither an arXiv id nor a title",
         "<item>\n      <description>Neither a title nor an id.</description>\n    </item>"),
    ]


# ---------------------------------------------------------------------------------------------- broken XML


def test_truncated_feed_keeps_whole_items():
    parsed = read(OWN / "truncated.xml")
    columns = ["position", "line", "arxiv_id", "arxiv_version", "section", "record_flags"]
    assert parsed.records.select(columns).rows() == [
        (1, 6, "2601.08001", 1, "new", ["xml_recovered"]),
        (2, 14, "2601.08002", 2, "replaced", ["xml_recovered"]),
    ]
    assert parsed.records["digest_date"].unique().to_list() == [dt.date(2026, 1, 9)]
    q = parsed.quarantine
    assert q.select("location", "reason").rows() == [("line 22", "truncated XML")]
    assert q["raw_text"][0].endswith("Abstract: This one stops in the mid")


def test_malformed_item_is_quarantined_without_shifting_the_others():
    parsed = read(OWN / "malformed.xml")
    assert parsed.records.select("position", "line", "arxiv_id", "section", "title_raw").rows() == [
        (1, 6, "2601.09001", "new", "Robots That Read Manuals"),
        (3, 17, "2601.09003", "cross-list", "Robots That Fold Laundry"),
    ]
    assert parsed.quarantine.select("location", "reason").rows() == [
        ("line 13", "malformed XML in item: mismatched tag (line 14, column 29)"),
    ]
    assert "<title>A Broken Item</titel>" in parsed.quarantine["raw_text"][0]


@pytest.mark.parametrize(
    ("fixture", "location", "reason"),
    [
        ("garbage.xml", "line 5", "malformed XML: mismatched tag (line 5, column 5)"),
        ("entity_bomb.xml", "line 1", "XML refused: the document declares the entity 'lol'"),
        ("external_entity.xml", "line 1", "XML refused: the document declares the entity 'secret'"),
    ],
)
def test_unusable_feeds_are_quarantined_whole(fixture, location, reason):
    parsed = read(OWN / fixture)
    assert parsed.records.height == 0
    expected = [(fixture, location, reason)]
    assert parsed.quarantine.select("source_path", "location", "reason").rows() == expected
    assert "root:" not in parsed.quarantine["raw_text"][0]  # nothing from /etc/passwd was read


@pytest.mark.parametrize(
    ("text", "records", "problems"),
    [
        # Cut after a whole item: the item kept, the cut reported where the parser stopped.
        (('<rss version="2.0"><channel>\n'
          "<item><title>A</title><guid>oai:arXiv.org:2601.00001v1</guid></item>\n"),
         [(1, "2601.00001")], [("line 3", "truncated XML")]),
        # An item left open before the next one starts.
        (('<rss version="2.0"><channel>\n'
          "<item><title>A</title>\n<item><title>B</title></item>\n</channel></rss>"),
         [(2, None)], [("line 2", "item never closed")]),
    ],
)
def test_other_breakages(tmp_path, text, records, problems):
    path = tmp_path / "broken.xml"
    path.write_text(text)
    parsed = read(path)
    assert parsed.records.select("position", "arxiv_id").rows() == records
    assert parsed.quarantine.select("location", "reason").rows() == problems


# ---------------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oai:arXiv.org:2601.00001v1", ("2601.00001", 1)),
        ("http://arxiv.org/abs/2601.00001v12", ("2601.00001", 12)),
        ("https://arxiv.org/abs/2503.02130", ("2503.02130", None)),
        ("http://arxiv.org/pdf/2512.09999v2", ("2512.09999", 2)),
        ("oai:arXiv.org:hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("http://arxiv.org/abs/math.AG/0601001", ("math/0601001", None)),
        ("oai:arXiv.org:math-ph/0101001v1", ("math-ph/0101001", 1)),
        ("1411.0420", ("1411.0420", None)),
        ("http://example.org/foo/1234567", None),
        ("2601.000012", None),
        ("", None),
    ],
)
def test_arxiv_id_parts(text, expected):
    assert arxiv_id_parts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 06 Jan 2026 00:00:00 -0500", dt.datetime(2026, 1, 6, 5, tzinfo=UTC)),
        ("2026-01-06T23:30:00-02:00", dt.datetime(2026, 1, 7, 1, 30, tzinfo=UTC)),
        ("2024-01-03T18:59:59.000Z", dt.datetime(2024, 1, 3, 18, 59, 59, tzinfo=UTC)),
        ("2024-01-03", dt.datetime(2024, 1, 3, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_instant(text, expected):
    assert instant(text) == expected


def test_html_text():
    assert html_text('<p>A &amp; <a href="x">B</a></p><p>C &lt; D</p>') == "A & B\nC < D"


# ---------------------------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize("path", sorted(OWN.iterdir()), ids=lambda p: p.name)
def test_sniff_own_fixtures(path):
    assert sniffs(READER, path) is (path.name not in {"empty.xml", "binary.bin"})



@pytest.mark.parametrize(
    "text",
    [
        '<feed xmlns="http://example.org/not-atom"></feed>',
        "<html><body></body></html>",
        "<?xml version='1.0'?><a/>",
    ],
)
def test_sniff_rejects_other_xml(text):
    assert READER.sniff(text) is False


# ---------------------------------------------------------------------------------------------- real feeds (issue 8)

REAL = FIXTURES / "real" / "feeds"


def test_real_old_rss_shortened_author_list_is_flagged_not_an_author():
    parsed = read(REAL / "hep-ex_2021-07-08.rdf")
    assert parsed.records["arxiv_id"].to_list() == ["2107.03419", "2106.00550", "2007.03939"]
    first = parsed.records.row(0, named=True)
    assert first["authors"] == ["LHCb collaboration: R. Aaij"]
    assert first["record_flags"] == ["authors_truncated", "authors_not_shown:909"]
    assert first["title_raw"].startswith(r"Observation of excited $\Omega_c^0$ baryons")
    assert parsed.records.row(2, named=True)["authors"][-1] == "Michael Strickland"
    assert parsed.records.row(2, named=True)["record_flags"] == []


def test_real_feed_without_items_is_zero_records_and_nothing_quarantined():
    from flows.extract import parsed_dump

    path = REAL / "cs.AI_no_items_2025-09-18.xml"
    parsed = parsed_dump(Dump.load(path, path.parent), None)
    assert (parsed.source_format, parsed.records.height, parsed.quarantine.height) == ("arxiv_feed", 0, 0)
