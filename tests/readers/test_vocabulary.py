"""The readers' shared vocabulary: rows, arXiv ids, author lists and digest dates, each written once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from flows.readers.base import Dump
from flows.readers.vocabulary import (
    arxiv_id_parts,
    canonical_arxiv_id,
    digest_date,
    instant,
    month_day,
    provenance,
    quarantine_row,
    resolved_digest_date,
    shown_authors,
    split_authors,
    without_affiliations,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hf_text"
DUMP = Dump(Path("raw/d.txt"), "d.txt", "ab" * 32, b"", 0.0)


def test_provenance_names_the_file_the_reader_and_the_day():
    assert provenance(DUMP, "arxiv_feed", (dt.date(2026, 1, 6), "feed_date")) == {
        "source_path": "d.txt",
        "source_sha256": "ab" * 32,
        "source_format": "arxiv_feed",
        "digest_date": dt.date(2026, 1, 6),
        "digest_date_source": "feed_date",
    }


@pytest.mark.parametrize(("raw_text", "kept"), [("We present ...", "We present ..."), ("", None), (None, None)])
def test_quarantine_row_names_the_file_and_keeps_no_empty_text(raw_text, kept):
    row = quarantine_row(DUMP, "line 11", "abstract-like line with no title before it", raw_text)
    assert row == {"source_path": "d.txt", "source_sha256": "ab" * 32, "location": "line 11",
                   "reason": "abstract-like line with no title before it", "raw_text": kept}


@pytest.mark.parametrize(
    ("text", "exact", "expected"),
    [
        ("2503.02130", True, ("2503.02130", None)),
        ("2503.02130v3", True, ("2503.02130", 3)),
        ("0704.0001", True, ("0704.0001", None)),
        ("hep-th/9901001v2", True, ("hep-th/9901001", 2)),
        ("math.AG/0601001", True, ("math/0601001", None)),  # the subject class is not part of the id
        ("foo/1234567", True, None),  # not an archive arXiv ever had
        ("2503.021", True, None),  # three digits after the dot: no arXiv id ever had them
        ("see arXiv:2409.01234, we find", False, ("2409.01234", None)),
        ("x2409.01234", False, None),  # glued to a word: part of something else
        ("", False, None),
    ],
)
def test_arxiv_ids_are_read_one_way_for_every_format(text, exact, expected):
    assert arxiv_id_parts(text, exact=exact) == expected


def test_canonical_id_drops_only_an_old_ids_subject_class():
    assert [canonical_arxiv_id(t) for t in ("math.GT/0309136", "cond-mat/9208031", "2601.00001")] == [
        "math/0309136", "cond-mat/9208031", "2601.00001"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ana Lima, Kofi Mensah, Yuki Tan", ["Ana Lima", "Kofi Mensah", "Yuki Tan"]),
        ("A. Person, B. Other and C. Third", ["A. Person", "B. Other", "C. Third"]),
        ("A. Person, B. Other, and C. Third", ["A. Person", "B. Other", "C. Third"]),
        ("Ferdinand Anderson and Sandra Andrews", ["Ferdinand Anderson", "Sandra Andrews"]),
        ("  Jane\n  Doe ,", ["Jane Doe"]),
        ("", []),
    ],
)
def test_author_lists_split_one_way(value, expected):
    assert split_authors(value) == expected


@pytest.mark.parametrize(
    ("value", "shown", "flags"),
    [
        ("A, B, et al. (57 additional authors not shown)", "A, B", ["authors_truncated", "authors_not_shown:57"]),
        ("A et al. (1,192 more authors not shown)", "A", ["authors_truncated", "authors_not_shown:1192"]),
        ("A and B et al.", "A and B", ["authors_truncated"]),
        ("Al Etal and Ruth Etalon", "Al Etal and Ruth Etalon", []),
    ],
)
def test_a_shortened_author_list_is_said_by_its_flags(value, shown, flags):
    assert shown_authors(value) == (shown, flags)


def test_affiliations_go_whole_even_when_nested():
    assert split_authors(without_affiliations("A. Person (Inst. of Y (IY), Tokyo) and B. Other")) == [
        "A. Person", "B. Other"
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [("Mar 13", (3, 13, None)), ("March 13, 2025", (3, 13, 2025)), ("sept. 2", (9, 2, None)), ("A Title", None),
     ("Mar 13 papers", None)],
)
def test_month_day_lines(line, expected):
    assert month_day(line) == expected


def test_digest_date_takes_the_first_day_found_else_the_file_name():
    dump = Dump(Path("x"), "digest_2025-03-14.txt", "0", b"", 0.0)
    assert digest_date(dump, None, (None, "header"), (dt.date(2026, 1, 6), "email_date_header")) == (
        dt.date(2026, 1, 6), "email_date_header"
    )
    assert digest_date(dump, None, (None, "header")) == (dt.date(2025, 3, 14), "filename")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 06 Jan 2026 00:00:00 -0500", dt.datetime(2026, 1, 6, 5, tzinfo=dt.UTC)),
        ("2025-03-13T23:30:00-02:00", dt.datetime(2025, 3, 14, 1, 30, tzinfo=dt.UTC)),
        ("2025-03-13", dt.datetime(2025, 3, 13, tzinfo=dt.UTC)),  # naive: taken as UTC
        ("not a date", None),
        ("  ", None),
        (20250313, None),  # a JSON number is not a date
    ],
)
def test_instants_are_utc(value, expected):
    assert instant(value) == expected


def _dump(tmp_path: Path, name: str, mtime: dt.datetime) -> Dump:
    path = tmp_path / name
    shutil.copy(FIXTURES / "basic.txt", path)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return Dump.load(path, tmp_path)


@pytest.mark.parametrize(
    ("name", "year", "month_day", "expected", "source"),
    [
        ("hf-2024-trending.txt", 2023, (3, 13), dt.date(2024, 3, 13), "header+filename"),
        ("000_c273f1a1012d9d74.txt", 2023, (3, 13), dt.date(2023, 3, 13), "header+year_option"),
        ("000_c273f1a1012d9d74.txt", None, (3, 13), dt.date(2026, 3, 13), "header+file_mtime"),
        # Saved in January: a December header belongs to the year before.
        ("000_c273f1a1012d9d74.txt", None, (12, 30), dt.date(2025, 12, 30), "header+file_mtime"),
        ("digest_20250314.txt", None, (None, None), dt.date(2025, 3, 14), "filename"),
    ],
)
def test_digest_date_resolution_order(tmp_path, name, year, month_day, expected, source):
    saved = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc) if month_day == (12, 30) else dt.datetime(
        2026, 11, 25, 12, tzinfo=dt.timezone.utc
    )
    dump = _dump(tmp_path, name, saved)
    assert resolved_digest_date(*month_day, None, dump, year) == (expected, source)
