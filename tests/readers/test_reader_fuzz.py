"""Fuzzing every reader through extract.parsed_dump, and bounded time on generated worst cases (issue 9).

Inputs are the committed fixtures mutated the way real files break: gzip corruption, lone surrogates, NULs,
control and bidi characters, truncation, flipped bytes, a long last line. The seed and the count are fixed, so
a failure replays; PAPERS_FUZZ_CASES raises the count for a longer local run.
"""

from __future__ import annotations

import gzip
import os
import random
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED, growth_ratio

from flows import extract
from flows.extract import Dump, parsed_dump
from flows.readers import base, safety, vocabulary
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
SOURCES = [SEED] + sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix not in (".py", ".md"))
CASES_PER_SOURCE = int(os.environ.get("PAPERS_FUZZ_CASES", "16"))
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# ---------------------------------------------------------------------------------------------- mutations


def _insert(data: bytes, rng: random.Random, piece: bytes, times: int = 1) -> bytes:
    for _ in range(times):
        at = rng.randrange(len(data) + 1)
        data = data[:at] + piece + data[at:]
    return data


def _in_a_string(data: bytes, rng: random.Random, piece: bytes) -> bytes:
    """Put `piece` just inside a quoted value or element text, where a parser keeps it, else anywhere."""
    anchors = [m.end() for m in re.finditer(rb'": "|<title>|<h3>|Title: |\n\n', data)]
    at = rng.choice(anchors) if anchors else rng.randrange(len(data) + 1)
    return data[:at] + piece + data[at:]


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _gzip_truncated(d: bytes, r: random.Random) -> bytes:
    packed = _gz(d)
    return packed[: r.randrange(10, len(packed) - 1)]


def _gzip_bad_crc(d: bytes, r: random.Random) -> bytes:
    packed = bytearray(_gz(d))
    packed[-8] ^= 0xFF  # first byte of the CRC32 trailer
    return bytes(packed)


def _gzip_flipped_byte(d: bytes, r: random.Random) -> bytes:
    packed = bytearray(_gz(d))
    packed[r.randrange(10, len(packed) - 8)] ^= 0x55
    return bytes(packed)


def _deleted_line(d: bytes, r: random.Random) -> bytes:
    lines = d.split(b"\n")
    del lines[r.randrange(len(lines))]
    return b"\n".join(lines)


def _duplicated_chunk(d: bytes, r: random.Random) -> bytes:
    i, j = sorted((r.randrange(len(d) + 1), r.randrange(len(d) + 1)))
    return d[:j] + d[i:j] + d[j:]


MUTATIONS = {
    "gzip_truncated": _gzip_truncated,
    "gzip_header_only": lambda d, r: _gz(d)[:10],
    "gzip_bad_crc": _gzip_bad_crc,
    "gzip_trailing_garbage": lambda d, r: _gz(d) + b"garbage after the stream",
    "gzip_flipped_byte": _gzip_flipped_byte,
    "gzip_two_members": lambda d, r: _gz(d[: len(d) // 2]) + _gz(d[len(d) // 2 :]),
    "truncated": lambda d, r: d[: r.randrange(len(d) + 1)],
    "nul_bytes": lambda d, r: _insert(d, r, b"\x00", r.randint(1, 4)),
    "nul_in_a_value": lambda d, r: _in_a_string(d, r, b"ti\x00tle "),
    "json_lone_surrogate": lambda d, r: _in_a_string(d, r, b"\\ud800 "),
    "json_reversed_pair": lambda d, r: _in_a_string(d, r, b"\\udc00\\ud800 "),
    "json_nul_escape": lambda d, r: _in_a_string(d, r, b"\\u0000\\u202e "),
    "html_entities": lambda d, r: _in_a_string(d, r, b"&#0;&#x202e;&#xd800;&#1114112; "),
    "control_characters": lambda d, r: _in_a_string(d, r, bytes([r.choice([1, 7, 8, 11, 12, 27, 127])]) * 3),
    "bidi_override": lambda d, r: _in_a_string(d, r, "\u202egnp.exe\u202c ".encode()),
    "encoded_surrogate": lambda d, r: _in_a_string(d, r, b"\xed\xa0\x80"),  # U+D800 as UTF-8: invalid UTF-8
    "flipped_bytes": lambda d, r: bytes(b ^ 0x20 if r.random() < 0.01 else b for b in d),
    "deleted_line": _deleted_line,
    "duplicated_chunk": _duplicated_chunk,
    "long_title": lambda d, r: _in_a_string(d, r, b"Giant " * 400),
    "long_url": lambda d, r: _in_a_string(d, r, b" https://example.org/" + b"a" * 3000 + b" "),
    "long_last_line": lambda d, r: d.rstrip(b"\n") + b"\n" + b"http://" * 3000 + b" x",
    "utf16": lambda d, r: d.decode("utf-8", "replace").encode("utf-16"),
    "cp1252_bytes": lambda d, r: _insert(d, r, b"\x93quoted\x94 \x81", 2),
}


def _cases(count: int) -> list[tuple[Path, str, int]]:
    rng = random.Random(20260903)
    names = sorted(MUTATIONS)
    return [(src, rng.choice(names), rng.randrange(1 << 30)) for src in SOURCES for _ in range(count)]


def _check(parsed, name: str) -> None:
    records, quarantine = parsed.records, parsed.quarantine
    assert records.schema == polars_schema(RAW_RECORDS)
    assert quarantine.schema == polars_schema(QUARANTINE)
    # Only a file that announces no records at all (a feed without items) may end as neither.
    if parsed.announced != 0:
        assert records.height + quarantine.height > 0, "a file must end as records or quarantine rows"
    assert set(records["source_path"]) <= {name} and set(quarantine["source_path"]) <= {name}
    assert quarantine["reason"].null_count() == 0 and quarantine["location"].null_count() == 0
    texts = (
        records.select(
            pl.concat_str(
                pl.col("title_raw"),
                pl.col("abstract_raw").fill_null(""),
                pl.col("authors").list.join(" "),
                pl.col("source_links").list.eval(pl.element().struct.field("url")).list.join(" "),
                separator=" ",
            )
        )
        .to_series()
        .to_list()
        + quarantine["raw_text"].drop_nulls().to_list()
    )
    assert not [t for t in texts if UNSAFE.search(t)], "unsafe characters left in the output"
    assert records.filter(pl.col("title_raw").str.len_chars() > safety.TITLE_MAX_CHARS).is_empty()
    urls = records["source_links"].explode().struct.field("url").drop_nulls()
    assert (urls.str.len_chars() <= safety.URL_MAX_CHARS).all()


@pytest.mark.slow
def test_fuzzed_fixtures_never_escape_parsed_dump(tmp_path):
    """Every mutated input ends as records or quarantine rows naming the file; no exception escapes."""
    outcomes: Counter[str] = Counter()
    failures = []
    for i, (src, mutation, seed) in enumerate(_cases(CASES_PER_SOURCE)):
        data = MUTATIONS[mutation](src.read_bytes(), random.Random(seed))
        path = tmp_path / f"{i:05d}-{mutation}-{src.name}"
        path.write_bytes(data)
        try:
            parsed = parsed_dump(Dump.load(path, tmp_path), 2025)
            _check(parsed, path.name)
        except Exception as exc:  # noqa: BLE001 - collected so one run reports every broken case
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}"[:300])
            continue
        outcomes["records" if parsed.records.height else "quarantined whole"] += 1
        path.unlink()
    assert not failures, f"{len(failures)} of {sum(outcomes.values()) + len(failures)} cases:\n" + "\n".join(
        failures[:20]
    )
    assert outcomes["records"] and outcomes["quarantined whole"]


@pytest.mark.parametrize(
    "mutation", ["gzip_truncated", "gzip_header_only", "gzip_bad_crc", "gzip_trailing_garbage"]
)
def test_corrupt_gzip_is_quarantined_whole_with_the_cause(tmp_path, mutation):
    path = tmp_path / "digest.txt.gz"
    path.write_bytes(MUTATIONS[mutation](SEED.read_bytes(), random.Random(1)))
    parsed = parsed_dump(Dump.load(path, tmp_path), 2025)
    assert parsed.records.is_empty()
    ((source, location, reason),) = parsed.quarantine.select("source_path", "location", "reason").rows()
    assert source == "digest.txt.gz" and location.startswith("byte ")
    expected = {
        "gzip_truncated": "cut short",
        "gzip_header_only": "cut short",
        "gzip_bad_crc": "CRC check failed",
        "gzip_trailing_garbage": "after the end of the gzip stream",
    }[mutation]
    assert expected in reason


def test_lone_surrogate_in_json_is_replaced_and_flagged(tmp_path):
    path = tmp_path / "daily.json"
    text = (FIXTURES / "hf_json" / "single.json").read_text()
    path.write_text(text.replace('"title": "A Single', '"title": "\\ud800A \\u0000Single\\u202e', 1))
    records = parsed_dump(Dump.load(path, tmp_path), 2025).records
    assert records["title_raw"].to_list() == ["\ufffdA Single Item Saved Alone"]
    assert set(records["record_flags"][0]) >= {
        "invalid_unicode_replaced",
        "control_characters_removed",
        "bidi_controls_removed",
    }


def test_nul_and_rtl_override_in_a_text_title_are_removed_and_flagged(tmp_path):
    path = tmp_path / "2025-digest.txt"
    text = (FIXTURES / "hf_text" / "basic.txt").read_text()
    path.write_text(text.replace("AC3D:", "AC\x003D\u202e:", 1))
    records = parsed_dump(Dump.load(path, tmp_path), 2025).records
    assert records["title_raw"][0].startswith("AC3D: Analyzing")
    assert records["record_flags"][0].to_list() == ["control_characters_removed", "bidi_controls_removed"]
    assert records["record_flags"][1].to_list() == []


def test_a_reader_that_crashes_quarantines_only_its_file(tmp_path, monkeypatch):
    from flows.readers.hf_json import HfDailyJson

    def broken(self, dump, text, year):
        raise KeyError("submittedOnDailyAt")

    monkeypatch.setattr(HfDailyJson, "read", broken)
    path = tmp_path / "daily.json"
    path.write_bytes((FIXTURES / "hf_json" / "single.json").read_bytes())
    parsed = parsed_dump(Dump.load(path, tmp_path), 2025)
    assert parsed.records.is_empty() and parsed.source_format == "hf_daily_json"
    assert parsed.quarantine["reason"].to_list() == [
        "hf_daily_json reader failed while reading: KeyError: 'submittedOnDailyAt'"
    ]


def test_an_unreadable_file_is_quarantined(tmp_path):
    path = tmp_path / "gone.txt"
    dump = Dump.load(path, tmp_path)  # never created: reading it fails like a permission or I/O error would
    parsed = parsed_dump(dump, 2025)
    assert parsed.quarantine.select("source_path", "location").rows() == [("gone.txt", "byte 0")]
    assert parsed.quarantine["reason"][0].startswith("unreadable file: no such file or directory")


def test_overlong_title_is_quarantined(tmp_path):
    path = tmp_path / "daily.json"
    text = (FIXTURES / "hf_json" / "single.json").read_text()
    path.write_text(
        text.replace(
            '"title": "A Single Item Saved Alone", "summary"', f'"title": "{"Giant " * 300}", "summary"'
        )
    )
    parsed = parsed_dump(Dump.load(path, tmp_path), 2025)
    assert parsed.records.is_empty()
    ((location, reason, raw),) = parsed.quarantine.select("location", "reason", "raw_text").rows()
    assert location == "line 1" and raw.startswith("Giant Giant")
    assert reason == "title longer than 1,000 characters (1,800): not a title"


def test_overlong_url_in_an_abstract_is_flagged(tmp_path):
    path = tmp_path / "2025-digest.txt"
    text = (FIXTURES / "hf_text" / "basic.txt").read_text()
    path.write_text(
        text.replace("We present ARTcdotV", "See https://x.org/" + "a" * 2500 + " We present ARTcdotV")
    )
    records = parsed_dump(Dump.load(path, tmp_path), 2025).records
    assert records["record_flags"].to_list() == [[], [], [], ["url_too_long"]]


@pytest.mark.parametrize(
    ("text", "too_long"),
    [
        ("see https://" + "a" * 1992, False),  # 2,000 characters: at the bound
        ("see https://" + "a" * 1993 + " and more", True),
        ("http://" + "a" * 1993, False),
        ("(http://" + "a" * 1994 + ")", True),
        # a scheme inside a longer URL: the URL found is the whole run, longer than the bound
        ("https://a.org/" + "b" * 1980 + "http://c.org", True),
        ("https://a.org/" + "b" * 1970 + " http://c.org", False),
        ("http:// " + "a" * 2500, False),
        ("", False),
        (None, False),
    ],
)
def test_overlong_url_measures_the_urls_found(text, too_long):
    frame = pl.DataFrame({"t": [text]}, schema={"t": pl.String})
    assert frame.select(safety.overlong_url(pl.col("t"))).item() is too_long


@pytest.mark.parametrize("code", [*range(0x20), 0x7F, 0x80, 0xA0, *range(0x2028, 0x2030), *range(0x2060, 0x206B)])
def test_unsafe_text_is_found_whatever_the_character(code):
    frame = pl.DataFrame({"t": [f"a{chr(code)}b"]})
    unsafe = bool(UNSAFE.search(chr(code)))
    assert frame.select(safety.has_unsafe_text(pl.col("t"))).item() is unsafe
    assert frame.select(safety.has_unsafe_text(pl.col("t"), long_values=True)).item() is unsafe


def test_bounded_links_drops_overlong_urls():
    links = pl.DataFrame({"paper_id": ["a", "b"], "url": ["https://x.org/a", "https://x.org/" + "b" * 2000]})
    kept, dropped = safety.bounded_links(links)
    assert kept["paper_id"].to_list() == ["a"] and dropped["paper_id"].to_list() == ["b"]


# ---------------------------------------------------------------------------------------------- bounded time


# Generated worst cases for every helper in flows/readers/ and flows/extract.py that sees untrusted text. The old cut-short check
# took 1.4 s on 40 KB of "http://" (quadratic); linear work grows 8x for 8x input, quadratic 64x.
WORST_CASES = {
    "dump_cut_short/http": (base.dump_cut_short, lambda n: "http://" * (n // 7) + " x"),
    "dump_cut_short/dots": (base.dump_cut_short, lambda n: ".a" * (n // 2)),
    "dump_cut_short/spaces": (base.dump_cut_short, lambda n: "a" + " " * n + "b"),
    "month_day/letters": (vocabulary.MONTH_DAY.match, lambda n: "mar" + "a" * n + " x"),
    "month_day/spaces": (vocabulary.MONTH_DAY.match, lambda n: "mar 1" + " " * n + "x"),
    "sane_text/mixed": (safety.sane_text, lambda n: "\ud800\x00\u202ea" * (n // 4)),
    "decoded_text/cp1252": (base.decoded_text, lambda n: b"\x93\r\n" * (n // 3) + b"\x81"),
    "gunzipped/many_members": (base.gunzipped, lambda n: gzip.compress(b"x", mtime=0) * (n // 21)),
    "sanitized_records/controls": (
        safety.sanitized_records,
        lambda n: _record("\x00\u202ea\x0c" * (n // 4), "x"),
    ),
    "bounded_records/urls": (
        lambda records: extract.bounded_records(records, DUMP),
        lambda n: _record("t", "http://" * (n // 7) + " x"),
    ),
}


DUMP = Dump(Path("f"), "f", "0", b"", 0.0)


def _record(title: str, abstract: str) -> pl.DataFrame:
    row = {"source_path": "f", "source_sha256": "0", "source_format": "x", "position": 1, "line": 1}
    return base.records_frame([{**row, "title_raw": title, "abstract_raw": abstract}] * 4)


@pytest.mark.parametrize("case", sorted(WORST_CASES))
def test_base_helpers_stay_linear_on_worst_cases(case):
    fn, make = WORST_CASES[case]
    assert growth_ratio(fn, make, small=100_000) < 24, f"{case} grows super-linearly"


@pytest.mark.parametrize(
    "source",
    [
        "hf_text/basic.txt",
        "hf_json/single.json",
        "hf_html/daily.html",
        "feeds/rss_new.xml",
        "arxiv_listing/listing.txt",
    ],
)
def test_every_reader_stays_linear_on_a_long_last_line(tmp_path, source):
    """A long final line without a newline (the shape that made one file take minutes) costs linear time."""
    data = (FIXTURES / source).read_bytes().rstrip(b"\n") + b"\n"

    def parse(n: int) -> None:
        path = tmp_path / f"{n}-{Path(source).name}"
        path.write_bytes(data + b"http://" * (n // 7) + b" x")
        parsed_dump(Dump.load(path, tmp_path), 2025)

    assert growth_ratio(parse, lambda n: n, small=50_000) < 24, f"{source} grows super-linearly"


# Tag soup that made the HTML reader quadratic: html.parser rescanning to the end for every unterminated "<!--"
# (and "<![", "</", "<?"), end tags matched by scanning the whole stack, and the text of nested headings,
# paragraphs and links read once per level. Each is one card followed by the soup.
_CARD = '<!DOCTYPE html><html><body><article><h3><a href="/papers/2503.02130">T</a></h3><p>Abstract.</p></article>'
HTML_WORST_CASES = {
    "deep_divs_closed": lambda n: "<div>" * (n // 11) + "</div>" * (n // 11),
    "deep_divs_stray_ends": lambda n: "<div>" * (n // 12) + "</span>" * (n // 12),
    "nested_headings": lambda n: "<h3>" * (n // 4) + "Mar 13",
    "nested_paragraphs": lambda n: '<article><h3><a href="/papers/2503.02131">U</a></h3>' + "<p><span>" * (n // 9),
    "nested_links": lambda n: "<article>" + '<a href="/papers/2503.02131">' * (n // 30),
    "heading_mode_deep": lambda n: "<div>" * (n // 13) + "<p>x</p>" * (n // 13),
    "unclosed_styles": lambda n: "<style>" * (n // 7),
    "unterminated_comments": lambda n: "<!--" * (n // 4),
    "unterminated_cdata": lambda n: "<![CDATA[" * (n // 9),
    "unterminated_end_tags": lambda n: "</" * (n // 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HTML_WORST_CASES))
def test_html_reader_stays_linear_on_tag_soup(tmp_path, case):
    """100k nested <div>s took 43 s (issue 9); every shape here now costs linear time (8x input, < 24x time)."""
    make = HTML_WORST_CASES[case]

    def parse(n: int) -> None:
        path = tmp_path / f"{case}-{n}.html"
        path.write_text(_CARD + make(n))
        parsed = parsed_dump(Dump.load(path, tmp_path), 2025)
        assert parsed.records["arxiv_id"][0] == "2503.02130"

    assert growth_ratio(parse, lambda n: n, small=40_000) < 24, f"{case} grows super-linearly"
