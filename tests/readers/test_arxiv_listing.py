"""Readers: arXiv daily listings as plain text, .eml and .mbox, on a hand-written listing and its broken variants."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED
from polars.testing import assert_frame_equal

from flows import extract
from flows.readers.arxiv_listing import ArxivEmail, ArxivListingText
from flows.readers.base import Dump, decoded_text
from flows.readers.listing_grammar import author_names, truncated_authors, unwrapped_abstract
from flows.readers.mail import email_messages, looks_like_email, message_body
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "arxiv_listing"
REAL = Path(__file__).parents[1] / "fixtures" / "real" / "arxiv_listing" / "cs_2026-01-20.txt"
UTC = dt.UTC
PROVENANCE = ["source_path", "source_sha256", "source_format"]

_spec = importlib.util.spec_from_file_location("arxiv_listing_make", FIXTURES / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

LISTING_TEXT, EMAIL = ArxivListingText(), ArxivEmail()

# (position, line of the arXiv: line, arxiv_id, arxiv_version, section, record_flags) for every entry of listing.txt
ENTRIES = [
    (1, 13, "2601.00001", None, "new", []),
    (2, 32, "2601.00010", None, "new", []),
    (3, 53, "2601.00042", None, "new", []),
    (4, 78, "2601.00057", None, "new", []),
    (5, 95, "2601.00100", None, "new", []),
    (6, 108, "2601.00115", None, "new", []),
    (7, 123, "2601.00128", None, "new", []),
    (8, 141, "2601.00311", None, "cross-list", ["cross_list"]),
    (9, 156, "2601.00402", None, "cross-list", ["cross_list"]),
    (10, 171, "2601.00517", None, "cross-list", ["cross_list"]),
    (11, 185, "2512.01230", 2, "replaced", ["replaced"]),
    (12, 196, "hep-th/9901001", None, "replaced", ["cross_list", "replaced"]),
    (13, 207, "2511.09990", None, "replaced", ["replaced", "withdrawn"]),
    (14, 218, "2503.02130", None, "replaced", ["replaced"]),
]
ENTRY_COLUMNS = ["position", "line", "arxiv_id", "arxiv_version", "section", "record_flags"]


def read(path: Path, reader=None, year: int | None = None):
    """Run a reader directly (extract.READERS does not list these readers yet)."""
    dump = Dump.load(path, path.parent)
    text = decoded_text(dump.data)[0]
    reader = reader or (EMAIL if EMAIL.sniff(text) else LISTING_TEXT)
    return reader.read(dump, text, year)


def by_id(records: pl.DataFrame, arxiv_id: str) -> dict:
    return records.filter(pl.col("arxiv_id") == arxiv_id).row(0, named=True)


@pytest.fixture(scope="module")
def plain() -> pl.DataFrame:
    return read(FIXTURES / "listing.txt", LISTING_TEXT).records


# ---------------------------------------------------------------------------------------------- plain listing


def test_every_entry_becomes_one_record_in_order(plain):
    parsed = read(FIXTURES / "listing.txt", LISTING_TEXT)
    assert parsed.source_format == "arxiv_listing"
    assert parsed.records.schema == polars_schema(RAW_RECORDS)
    assert parsed.quarantine.schema == polars_schema(QUARANTINE) and parsed.quarantine.height == 0
    assert plain.select(ENTRY_COLUMNS).rows() == [tuple(e) for e in ENTRIES]
    assert plain["source_format"].unique().to_list() == ["arxiv_listing"]
    assert plain["source_path"].unique().to_list() == ["listing.txt"]


def test_digest_date_comes_from_the_received_line(plain):
    assert plain["digest_date"].unique().to_list() == [dt.date(2026, 1, 5)]
    assert plain["digest_date_source"].unique().to_list() == ["header"]


@pytest.mark.parametrize(
    ("arxiv_id", "column", "expected"),
    [
        ("2601.00001", "title_raw",
         "Sparse $\\alpha$-Entmax Routing for Mixture-of-Experts Models That Never Forget a Token"),
        ("2601.00042", "title_raw",
         ("Seeing Is Not Believing: A Benchmark of Visually Grounded Contradictions for Multi-Modal Large Language "
         "Models, with a Study of Annotation Disagreement")),
        ("2601.00010", "title_raw",
         'Sch\\"onhage Meets Transformers: Fast Integer Multiplication as a Probe of Length Generalisation'),
        ("2601.00057", "title_raw",
         "When Is Chain-of-Thought \\emph{Not} Helpful? A Controlled Study on Arithmetic Word Problems"),
        ("2601.00128", "title_raw", "\\texttt{lintgpt}: Teaching Code Models to Explain Their Own Warnings"),
        ("2601.00001", "authors", ["Ada Kowalczyk", "Bruno Ferreira", "Chen Wei", "Dagny Halvorsen"]),
        ("2601.00010", "authors", ["Jörg Müller", "Émilie Laurent", "Tomás Ó Briain"]),
        ("2601.00042", "authors", ["Farida Nasser", "Gustav Lindqvist", "Hana Kobayashi", "Ivo Petrov",
                                   "Jules Martin"]),
        ("2601.00115", "authors", ["Nadia Benali", "Oscar Pettersson", "Priya Raman", "Quentin Dubois"]),
        ("2601.00128", "authors", ["Rosa Delgado", "Sven Aas", "Tuula Virtanen"]),
        ("2601.00402", "authors", ["Viktor Horvath", "Wen Li", "Xenia Papadopoulou"]),
        ("2601.00517", "authors", ["Yara Haddad", "Zoltán Szabó", "the Imaginary Quantum Collaboration"]),
        ("2601.00311", "categories", ["math.OC", "cs.LG", "stat.ML"]),
        ("2601.00100", "categories", ["cs.CL", "eess.AS"]),
        ("2601.00057", "comments",
         "Accepted at the Fictional Conference on Reasoning (FCR 2026); 8 pages plus appendix"),
        ("2601.00100", "comments", None),
        ("2601.00010", "journal_ref",
         "Proceedings of the Workshop on Imaginary Benchmarks (WIB 2026), pp. 101--117"),
        ("hep-th/9901001", "journal_ref", "Imaginary J. Phys. 12 (1999) 345-367"),
        ("2601.00010", "doi", "10.5555/wib.2026.0042"),
        ("2503.02130", "doi", "10.5555/jmr.2026.0130"),
        ("2511.09990", "comments",
         "This paper has been withdrawn by the author due to an error in the evaluation script"),
        ("2601.00001", "published_at", dt.datetime(2026, 1, 5, 10, 12, 44, tzinfo=UTC)),
        ("2601.00311", "published_at", dt.datetime(2026, 1, 5, 9, 20, tzinfo=UTC)),
        # A replacement's date is the new version's, not the paper's publication.
        ("2512.01230", "published_at", None),
        ("2601.00057", "abstract_raw",
         ("We vary the length of the reasoning chain while holding the answer fixed and measure accuracy as a "
         "function of a difficulty knob $\\lambda=0.5, 1, 2$. For easy items ($\\lambda=0.5$) short answers are "
         "as accurate as long chains, and the gap only opens for $\\lambda \\geq 2$.")),
        ("2601.00115", "abstract_raw",
         ("We release 30,000 transcribed snippets of small talk in French, Swedish and Tamil — recorded with "
         "consent in caf\\'es and train stations — together with dialogue-act labels. Na\\\"ive baselines confuse "
         "greetings with farewells in 27\\% of cases.")),
        ("2512.01230", "abstract_raw", None),
        ("2503.02130", "source_links", [{"url": "https://arxiv.org/abs/2503.02130", "kind": "paper"}]),
    ],
)
def test_entry_fields(plain, arxiv_id, column, expected):
    assert by_id(plain, arxiv_id)[column] == expected


def test_ids_stay_strings_with_their_trailing_zeros(plain):
    assert plain.schema["arxiv_id"] == pl.String
    assert {"2601.00010", "2601.00100", "2503.02130", "2512.01230"} <= set(plain["arxiv_id"])


def test_abstract_is_one_paragraph_with_real_hyphens_kept(plain):
    abstract = by_id(plain, "2601.00042")["abstract_raw"]
    assert "state-of-the-art multi-modal models accept 61\\% of them." in abstract
    assert "for first- and second-order agreement statistics" in abstract
    assert "\n" not in abstract and "  " not in abstract
    assert abstract.startswith("Multi-modal language models") and abstract.endswith("single gold answer.")


def test_abstract_line_citing_arxiv_does_not_start_an_entry(plain):
    abstract = by_id(plain, "2601.00010")["abstract_raw"]
    assert "Following the analysis in arXiv:2409.01234, we find that ``index hints'' alone" in abstract
    assert "2409.01234" not in plain["arxiv_id"].to_list()


def test_header_less_listing_falls_back_to_the_file_name_date(tmp_path):
    text = (FIXTURES / "listing.txt").read_text(encoding="utf-8")
    body = text[text.index("\\\\\narXiv:2601.00001"):]
    path = tmp_path / "cs-listing-2026-01-07.txt"
    path.write_text(body, encoding="utf-8")
    records = read(path, LISTING_TEXT).records
    assert records.height == 14
    assert records["line"][0] == 2  # the line after the opening \\ at the very top
    assert records["digest_date"].unique().to_list() == [dt.date(2026, 1, 7)]
    assert records["digest_date_source"].unique().to_list() == ["filename"]


# ---------------------------------------------------------------------------------------------- mail


@pytest.mark.parametrize("fixture", ["listing_qp.eml", "listing_base64.eml", "cp1252.txt"])
def test_other_encodings_give_the_same_records(plain, fixture):
    parsed = read(FIXTURES / fixture)
    assert parsed.quarantine.height == 0
    assert parsed.source_format == ("arxiv_listing" if fixture.endswith(".txt") else "arxiv_email")
    assert_frame_equal(parsed.records.drop(PROVENANCE), plain.drop(PROVENANCE))


@pytest.mark.parametrize("fixture", ["digests.mbox", "listing_qp.eml", "listing_base64.eml"])
def test_mail_with_cr_only_line_ends_gives_the_same_records(tmp_path, fixture):
    """A mail store written with bare CR line ends (old Mac tools) lost every entry (22 -> 0) or most (14 -> 2)."""
    lf = read(FIXTURES / fixture, EMAIL)
    path = tmp_path / fixture
    path.write_bytes((FIXTURES / fixture).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    cr = read(path, EMAIL)
    assert cr.quarantine.height == lf.quarantine.height == 0
    assert_frame_equal(cr.records.drop(PROVENANCE), lf.records.drop(PROVENANCE))


def test_mbox_holds_two_digests_with_positions_running_across(plain):
    parsed = read(FIXTURES / "digests.mbox", EMAIL)
    records = parsed.records
    assert parsed.quarantine.height == 0
    assert records.height == 14 + 8
    assert records["position"].to_list() == list(range(1, 23))
    assert_frame_equal(records.head(14).drop(PROVENANCE), plain.drop(PROVENANCE))
    second = records.slice(14)
    expected = make.listing_papers(4, 2, 2, dt.date(2026, 1, 6))
    assert second["arxiv_id"].to_list() == [p["arxiv_id"] for p in expected]
    assert second["section"].to_list() == ["new"] * 4 + ["cross-list"] * 2 + ["replaced"] * 2
    # The second digest lacks its "received" line: the message's Date header dates it.
    assert second["digest_date"].unique().to_list() == [dt.date(2026, 1, 6)]
    assert second["digest_date_source"].unique().to_list() == ["email_date_header"]
    # Lines count within each message's decoded body.
    assert second["line"][0] == 8  # 6 header lines, the opening \\ on 7, its arXiv: line on 8


def test_empty_body_is_quarantined_with_its_message():
    parsed = read(FIXTURES / "empty_body.eml", EMAIL)
    assert parsed.records.height == 0
    assert parsed.quarantine.select("source_path", "location", "reason").rows() == [
        ("empty_body.eml", "message 1, line 1", "message has an empty body")
    ]
    assert "Subject: cs daily Subj-class mailing" in parsed.quarantine["raw_text"][0]


def test_html_only_message_is_quarantined(tmp_path):
    path = tmp_path / "html.eml"
    path.write_text(
        "From: arXiv <no-reply@arxiv.org>\nDate: Mon, 05 Jan 2026 20:14:03 -0500\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n\n<html><body>listing</body></html>\n"
    )
    parsed = read(path, EMAIL)
    assert parsed.records.height == 0
    assert parsed.quarantine["reason"].to_list() == ["message has no text/plain part"]


def test_broken_block_in_a_later_message_is_located_by_message_and_line(tmp_path):
    data = (FIXTURES / "digests.mbox").read_bytes()
    second = data.index(b"From no-reply@arxiv.org Tue")
    broken = data[:second] + data[second:].replace(b"arXiv:2601.05002\n", b"", 1)
    path = tmp_path / "broken.mbox"
    path.write_bytes(broken)
    parsed = read(path, EMAIL)
    assert parsed.quarantine.select("location", "reason").rows() == [
        ("message 2, line 28", "entry has no arXiv id line")
    ]
    assert parsed.records.height == 21
    assert 16 not in parsed.records["position"].to_list()  # the broken entry keeps its place
    assert parsed.records.filter(pl.col("arxiv_id") == "2601.05003")["position"].to_list() == [17]


# ---------------------------------------------------------------------------------------------- broken variants


def test_truncated_last_entry_is_kept_and_flagged(plain):
    parsed = read(FIXTURES / "truncated.txt", LISTING_TEXT)
    records = parsed.records
    assert parsed.quarantine.height == 0
    assert records["arxiv_id"].to_list() == plain["arxiv_id"].head(5).to_list()
    assert records["record_flags"].to_list() == [[], [], [], [], ["truncated"]]
    last = records.row(4, named=True)
    assert last["title_raw"] == "Tokenizer-Free Speech Recognition with Byte-Level Decoders"
    assert last["abstract_raw"].endswith("The byte-level decoder is 12\\% slower but handles code-swi")
    assert last["source_links"] == []
    assert_frame_equal(records.head(4), plain.head(4).with_columns(pl.lit("truncated.txt").alias("source_path"))
                       .with_columns(source_sha256=records["source_sha256"].head(4)))


def test_truncated_entry_without_a_title_is_quarantined(tmp_path):
    text = (FIXTURES / "listing.txt").read_text(encoding="utf-8")
    path = tmp_path / "cut.txt"
    path.write_text(text[: text.index("arXiv:2601.00100") + len("arXiv:2601.00100\nDate: Mon, 5 Jan")])
    parsed = read(path, LISTING_TEXT)
    assert parsed.records["arxiv_id"].to_list() == [e[2] for e in ENTRIES[:4]]
    assert parsed.quarantine.select("location", "reason").rows() == [
        ("line 94", "listing cut off inside an entry, before its title")
    ]
    assert parsed.quarantine["raw_text"][0] == "\\\\\narXiv:2601.00100\nDate: Mon, 5 Jan"


def test_block_missing_its_id_is_quarantined_without_shifting_the_others(plain):
    parsed = read(FIXTURES / "missing_id.txt", LISTING_TEXT)
    assert parsed.quarantine.select("location", "reason").rows() == [("line 52", "entry has no arXiv id line")]
    assert parsed.quarantine["raw_text"][0].startswith("\\\\\nDate: Mon, 5 Jan 2026 12:40:31 GMT")
    records = parsed.records
    expected = plain.filter(pl.col("arxiv_id") != "2601.00042").with_columns(
        pl.when(pl.col("line") > 53).then(pl.col("line") - 1).otherwise(pl.col("line")).alias("line")
    )
    assert records.height == 13
    assert_frame_equal(records.drop(PROVENANCE), expected.drop(PROVENANCE))


@pytest.mark.parametrize(
    ("old", "new", "quarantined", "flagged"),
    [
        # The Title line of one entry is lost.
        ("Title: Tokenizer-Free Speech Recognition with Byte-Level Decoders\n", "",
         [("line 94", "entry has no Title field")], {}),
        # One entry lost its opening \\ line: its text is kept in quarantine, the next entry is unharmed.
        ("-\n\\\\\narXiv:2601.00100\n", "-\narXiv:2601.00100\n",
         [("line 94", "text outside any entry (no opening \\\\ line)")], {}),
        # One entry lost its closing line: it ends at the rule, is kept and flagged.
        ("\\\\ ( https://arxiv.org/abs/2601.00100 ,  640kb)\n", "", [], {"2601.00100": ["unterminated"]}),
        # An unreadable Date line does not lose the entry.
        ("Date: Mon, 5 Jan 2026 14:02:10 GMT", "Date: sometime on Monday", [], {"2601.00100": ["date_unparsed"]}),
    ],
)
def test_damaged_entry_never_shifts_its_neighbours(tmp_path, plain, old, new, quarantined, flagged):
    text = (FIXTURES / "listing.txt").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "damaged.txt"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    parsed = read(path, LISTING_TEXT)
    assert parsed.quarantine.select("location", "reason").rows() == quarantined
    records = parsed.records
    lost = {"2601.00100"} if quarantined else set()
    assert records["arxiv_id"].to_list() == [e[2] for e in ENTRIES if e[2] not in lost]
    kept = plain.filter(~pl.col("arxiv_id").is_in(list(lost | set(flagged))))
    assert_frame_equal(
        records.filter(pl.col("arxiv_id").is_in(kept["arxiv_id"])).select("position", "arxiv_id", "title_raw",
                                                                          "abstract_raw", "authors"),
        kept.select("position", "arxiv_id", "title_raw", "abstract_raw", "authors"),
    )
    for arxiv_id, flags in flagged.items():
        assert by_id(records, arxiv_id)["record_flags"] == flags
        assert by_id(records, arxiv_id)["title_raw"] == by_id(plain, arxiv_id)["title_raw"]


# ---------------------------------------------------------------------------------------------- sniffing


def _text(path: Path) -> str:
    return decoded_text(Dump.load(path, path.parent).data)[0]


@pytest.mark.parametrize(
    ("source", "listing", "mail"),
    [
        ("listing.txt", True, False),
        ("truncated.txt", True, False),
        ("missing_id.txt", True, False),
        ("cp1252.txt", True, False),
        ("listing_qp.eml", False, True),
        ("listing_base64.eml", False, True),
        ("digests.mbox", False, True),
        ("empty_body.eml", False, True),
        ("seed", False, False),
        ("json", False, False),
        ("xml", False, False),
        ("html", False, False),
        ("hf_title_from", False, False),
        ("other_mail", False, False),
    ],
)
def test_sniffing_is_by_content(source, listing, mail):
    others = {
        "seed": SEED.read_text(encoding="utf-8"),
        "json": json.dumps([{"paper": {"id": "2601.00001", "summary": "\\\\\narXiv:2601.00001"}}]),
        "xml": '<?xml version="1.0"?>\n<feed><entry><id>oai:arXiv.org:2601.00001v1</id></entry></feed>\n',
        "html": "<html><body><dl><dt>arXiv:2601.00001</dt><dd>Title: A Title</dd></dl></body></html>\n",
        "hf_title_from": "From Pixels to Proteins: A Made-Up Title at 10:30\n\nAn abstract that is a sentence.\n",
        "other_mail": "From: friend@example.org\nSubject: lunch\nDate: Mon, 05 Jan 2026 12:00:00 +0000\n\nNoon?\n",
    }
    text = others[source] if source in others else _text(FIXTURES / source)
    assert (LISTING_TEXT.sniff(text), EMAIL.sniff(text)) == (listing, mail)


def test_extract_dispatch_with_the_readers_registered(monkeypatch, tmp_path, plain):
    """How extract will use them once registered: mail before plain listing, both before the loose HF text."""
    monkeypatch.setattr(extract, "READERS", (EMAIL, LISTING_TEXT, *extract.READERS))
    packed = tmp_path / "listing_qp.eml.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "listing_qp.eml").read_bytes()))
    results = {
        name: extract.parsed_dump(Dump.load(path, path.parent), None)
        for name, path in [("qp", packed), ("cp1252", FIXTURES / "cp1252.txt"), ("seed", SEED)]
    }
    assert results["qp"].source_format == "arxiv_email"
    assert_frame_equal(results["qp"].records.drop(PROVENANCE), plain.drop(PROVENANCE))
    assert results["cp1252"].source_format == "arxiv_listing"
    assert results["cp1252"].records["record_flags"][0].to_list() == ["decoded_as_cp1252"]
    assert results["seed"].source_format == "hf_papers_text"


# ---------------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A. Person (MIT), B. Other and C. Third (ETH Zurich)", ["A. Person", "B. Other", "C. Third"]),
        ("A. Person (Dept. of CS, Univ. of X), B. Other", ["A. Person", "B. Other"]),
        ("A. Person (Inst. of Y (IY), Tokyo) and B. Other", ["A. Person", "B. Other"]),
        ("A. Person, B. Other, and C. Third", ["A. Person", "B. Other", "C. Third"]),
        ("A. Person ((1) MIT, (2) ETH)", ["A. Person"]),
        ("Ferdinand Anderson and Sandra Andrews", ["Ferdinand Anderson", "Sandra Andrews"]),
        ("J. M\\\"uller", ['J. M\\"uller']),
        ("A. Person (unclosed, B. Other", ["A. Person unclosed", "B. Other"]),
        ("", []),
    ],
)
def test_author_names(value, expected):
    assert author_names(value) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["  one line"], "one line"),
        (["  wrapped", "text"], "wrapped text"),
        (["  state-of-the-art multi-", "modal"], "state-of-the-art multi-modal"),  # the hyphen is real
        (["  first-", "and second-order"], "first- and second-order"),  # suspended hyphen keeps its space
        (["  sequence-", "to-sequence"], "sequence-to-sequence"),
        (["  a dash -", "here"], "a dash - here"),
        (["  1.7-", "fold"], "1.7-fold"),
        (["  para one.", "", "para two."], "para one. para two."),
        (["", "  "], None),
    ],
)
def test_unwrapped_abstract(lines, expected):
    assert unwrapped_abstract(lines) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("From no-reply@arxiv.org Mon Jan  5 20:14:03 2026\nFrom: x\n\nbody", True),
        ("Received: from a\n\tby b; Mon, 5 Jan 2026\nSubject: s\n\nbody", True),
        ("MIME-Version: 1.0\nContent-Type: text/plain\n\nbody", True),
        ("From Pixels to Proteins\n\nabstract", False),
        ("Title: A Title\nAuthors: A. Person\n", False),
        ("------\n\\\\\narXiv:2601.00001\nDate: Mon, 5 Jan 2026 10:00:00 GMT\n", False),
    ],
)
def test_looks_like_email(text, expected):
    assert looks_like_email(text) is expected


def test_mbox_from_escapes_are_undone_and_charsets_honoured():
    data = (
        b"From a@b Mon Jan  5 20:14:03 2026\nSubject: one\nContent-Type: text/plain; charset=iso-8859-1\n\n"
        b">From here on, M\xfcller\n\n"
        b"From a@b Tue Jan  6 20:14:03 2026\nSubject: two\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"x =3D y, soft=\n break\n"
    )
    messages = email_messages(data)
    assert [m["Subject"] for m in messages] == ["one", "two"]
    assert [message_body(m) for m in messages] == ["From here on, Müller\n", "x = y, soft break\n"]


# ---------------------------------------------------------------------------------------------- generator


def test_generated_listing_is_deterministic_and_reads_back_exactly(tmp_path):
    day = dt.date(2026, 1, 14)
    text = make.make_listing(300, 100, 100, day)
    assert text == make.make_listing(300, 100, 100, day)
    assert text != make.make_listing(300, 100, 100, day + dt.timedelta(days=1))
    path = tmp_path / "big.txt"
    path.write_text(text, encoding="utf-8")
    parsed = read(path, LISTING_TEXT)
    assert parsed.quarantine.height == 0
    records = parsed.records
    assert records.height == 500
    assert records["position"].to_list() == list(range(1, 501))
    assert records["arxiv_id"].n_unique() == 500
    assert records["digest_date"].unique().to_list() == [day]
    papers = make.listing_papers(300, 100, 100, day)
    columns = ["section", "arxiv_id", "arxiv_version", "title_raw", "abstract_raw", "authors", "categories",
               "published_at", "comments", "journal_ref", "doi", "record_flags"]
    expected = pl.DataFrame([{c: p[c] for c in columns} for p in papers], schema=records.select(columns).schema)
    assert_frame_equal(records.select(columns), expected)
    flags = records["record_flags"].explode().value_counts().sort("record_flags").rows()
    assert dict(flags) == {"cross_list": 125, "replaced": 100, "withdrawn": 6}
    assert records.filter(pl.col("record_flags").list.len() == 0).height == 300


# ---------------------------------------------------------------------------------------------- real listings (issue 8)


def test_real_listing_is_listing_text_with_every_entry():
    parsed = extract.parsed_dump(Dump.load(REAL, REAL.parent), None)
    assert parsed.source_format == "arxiv_listing"
    assert parsed.quarantine.is_empty()
    assert parsed.records["arxiv_id"].to_list() == [
        "2601.11620", "2601.13021", "2601.11659", "2601.13969", "2601.11532", "2601.11579", "2601.11702",
        "2601.13994", "2601.11694", "2601.12023", "2601.13642", "2401.13770",
    ]
    assert parsed.records["digest_date"].unique().to_list() == [dt.date(2026, 1, 20)]


def test_real_shortened_author_list_has_no_et_al_author_and_says_how_many_are_missing():
    records = extract.parsed_dump(Dump.load(REAL, REAL.parent), None).records
    entry = by_id(records, "2601.11659")
    assert entry["authors"][:2] == ["Aaron Adcock", "Aayushi Srivastava"]
    assert entry["authors"][-1] == "Amine Benhalloum"
    assert not any("et al" in name for name in records["authors"].explode().drop_nulls().to_list())
    assert entry["record_flags"] == ["authors_truncated", "authors_not_shown:1271"]
    assert by_id(records, "2601.11620")["record_flags"] == []


@pytest.mark.parametrize(
    ("value", "names", "flags"),
    [
        ("A. Person, B. Other, et al. (57 additional authors not shown)", ["A. Person", "B. Other"],
         ["authors_truncated", "authors_not_shown:57"]),
        ("A. Person, Jay Vakil et al. (1,192 additional authors not shown)", ["A. Person", "Jay Vakil"],
         ["authors_truncated", "authors_not_shown:1192"]),
        ("A. Person and B. Other et al.", ["A. Person", "B. Other"], ["authors_truncated"]),
        ("Al Etal and Ruth Etalon", ["Al Etal", "Ruth Etalon"], []),
    ],
)
def test_truncated_authors(value, names, flags):
    assert truncated_authors(value) == (names, flags)


# What a mail program shows above a message it prints or copies: the listing under a few header lines.
SHOWN_HEADERS = (
    "From: send mail ONLY to cs <no-reply@arxiv.org>\n"
    "Subject: cs daily Subj-class mailing 3b1d 1\n"
    "Date: Tue, 20 Jan 2026 20:31:07 -0500\n"
    "To: reader@example.net\n\n"
)


def test_listing_copied_with_shown_mail_headers_is_listing_text(tmp_path):
    path = tmp_path / "copied.txt"
    path.write_text(SHOWN_HEADERS + REAL.read_text(encoding="utf-8"), encoding="utf-8")
    parsed = extract.parsed_dump(Dump.load(path, tmp_path), None)
    assert parsed.source_format == "arxiv_listing"
    assert parsed.records.height == 12 and parsed.quarantine.is_empty()
    assert parsed.records["digest_date_source"].unique().to_list() == ["header"]


def test_listing_without_its_received_line_is_dated_by_the_shown_date_header(tmp_path):
    text = "\n".join(line for line in REAL.read_text(encoding="utf-8").split("\n") if "received from" not in line)
    path = tmp_path / "copied.txt"
    path.write_text(SHOWN_HEADERS + text, encoding="utf-8")
    records = extract.parsed_dump(Dump.load(path, tmp_path), None).records
    assert records.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2026, 1, 20), "email_date_header")
    ]


@pytest.mark.parametrize(
    ("headers", "container"),
    [
        (SHOWN_HEADERS, False),
        ("Received: from mail.example.org by mx.example.net\n" + SHOWN_HEADERS, True),
        (SHOWN_HEADERS.replace("To:", "MIME-Version: 1.0\nTo:"), True),
        (SHOWN_HEADERS.replace("To:", "X-Mailer: Thunderbird\nTo:"), True),
    ],
)
def test_mail_container_needs_stored_mail_headers(headers, container, tmp_path):
    text = headers + REAL.read_text(encoding="utf-8")
    assert looks_like_email(text) is container
    path = tmp_path / "dump"
    path.write_text(text, encoding="utf-8")
    expected = "arxiv_email" if container else "arxiv_listing"
    assert extract.parsed_dump(Dump.load(path, tmp_path), None).source_format == expected
