"""The words every reader speaks, each written once: provenance and quarantine rows, arXiv ids, author lists, dates.

A reader that names its file, an id, an author or a digest day does it with these, so two formats never disagree
on what an id is or how a row says where it came from. Pure functions over strings; nothing here picks a reader or
reads a file. Untrusted text: every pattern is linear in its input.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from pathlib import Path

from flows.readers.base import Dump

# ---------------------------------------------------------------------------------------------- rows

Digest = tuple[dt.date | None, str | None]  # (digest_date, digest_date_source)


def provenance(dump: Dump, source_format: str, digest: Digest) -> dict:
    """The fields every record of one dump carries: its file, the reader that read it, its digest day and why.

    >>> provenance(dump, "arxiv_feed", (dt.date(2026, 1, 6), "feed_date"))
    {'source_path': 'cs.xml', 'source_sha256': '…', 'source_format': 'arxiv_feed', 'digest_date': ..., ...}
    """
    date, source = digest
    return {
        "source_path": dump.rel_path,
        "source_sha256": dump.sha256,
        "source_format": source_format,
        "digest_date": date,
        "digest_date_source": source,
    }


def quarantine_row(dump: Dump, location: str, reason: str, raw_text: str | None) -> dict:
    """One QUARANTINE row: the dump, where in it ("line 12", "item 3", "byte 0"), why, and the text kept out.

    An empty text is no text (null), as in every row a reader writes.

    >>> quarantine_row(dump, "line 11", "abstract-like line with no title before it", "We present ...")
    {'source_path': 'x.txt', 'source_sha256': '…', 'location': 'line 11', 'reason': '…', 'raw_text': 'We present ...'}
    """
    return {
        "source_path": dump.rel_path,
        "source_sha256": dump.sha256,
        "location": location,
        "reason": reason,
        "raw_text": raw_text or None,
    }


# ---------------------------------------------------------------------------------------------- arXiv ids

# New-style ids (0704.0001 .. 2601.00001): four digits, a dot, four digits (before 2015) or five.
NEW_STYLE_ID = r"\d{4}\.\d{4,5}"
# Archives of pre-2007 identifiers (hep-th/9901001); a closed list, so a URL like /foo/1234567 is never an id.
OLD_ARCHIVES = (
    "acc-phys|adap-org|alg-geom|ao-sci|astro-ph|atom-ph|bayes-an|chao-dyn|chem-ph|cmp-lg|comp-gas|cond-mat|cs|"
    "dg-ga|funct-an|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math|math-ph|mtrl-th|nlin|nucl-ex|nucl-th|patt-sol|"
    "physics|plasm-ph|q-alg|q-bio|quant-ph|solv-int|supr-con"
)
# An id without its version, as pattern text for a format's own patterns (no groups): new style, or
# archive(.subject class)/YYMMNNN. The subject class (math.AG/0601001) is not part of the identifier.
ARXIV_ID_TEXT = rf"(?:{NEW_STYLE_ID}|(?:{OLD_ARCHIVES})(?:\.[A-Za-z-]+)?/\d{{7}})"
# An id inside a guid, link or free text ("oai:arXiv.org:2601.00001v1", "/abs/hep-th/9901001v2").
ARXIV_ID = re.compile(rf"(?<![\w.-])(?P<id>{ARXIV_ID_TEXT})(?:v(?P<version>\d+))?(?!\d)")
_SUBJECT_CLASS = re.compile(r"\.[A-Za-z-]+(?=/)")


def canonical_arxiv_id(matched: str) -> str:
    """An id as ARXIV_ID_TEXT matched it -> the identifier, without an old id's subject class.

    >>> canonical_arxiv_id("math.AG/0601001"), canonical_arxiv_id("2503.02130")
    ('math/0601001', '2503.02130')
    """
    return _SUBJECT_CLASS.sub("", matched, count=1) if "/" in matched else matched


def arxiv_id_parts(text: str | None, exact: bool = False) -> tuple[str, int | None] | None:
    """First arXiv id in a guid, link or id -> (version-less id, version or None); exact: the whole text.

    >>> arxiv_id_parts("oai:arXiv.org:hep-th/9901001v2"), arxiv_id_parts("http://arxiv.org/abs/2503.02130")
    (('hep-th/9901001', 2), ('2503.02130', None))
    """
    if not text:
        return None
    m = ARXIV_ID.fullmatch(text.strip()) if exact else ARXIV_ID.search(text)
    if m is None:
        return None
    return canonical_arxiv_id(m["id"]), int(m["version"]) if m["version"] else None


# ---------------------------------------------------------------------------------------------- authors

# "A, B and C", "A, B, and C" (a comma before the last "and" is common in arXiv's own author fields).
AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
# arXiv shortens long author lists: "A. Person, B. Other, et al. (57 additional authors not shown)".
AUTHORS_NOT_SHOWN = re.compile(
    r"[\s,]*\bet(?:\.\s*|\s+)al\b\.?\s*(?:\(\s*(?P<n>[\d,]+)\s+(?:additional|more)\s+authors?\s+not\s+shown\s*\)|"
    r"\([^()]*\))?\s*$",
    re.IGNORECASE,
)
_PARENTHESISED = re.compile(r"\([^()]*\)")


def split_authors(value: str) -> list[str]:
    """An author list written as text -> names (whitespace collapsed, empty names dropped).

    >>> split_authors("Ferdinand Anderson, B. Other, and C.  Third")
    ['Ferdinand Anderson', 'B. Other', 'C. Third']
    """
    return [" ".join(name.split()) for name in AUTHOR_SEPARATOR.split(value) if name.strip()]


def shown_authors(value: str) -> tuple[str, list[str]]:
    """An author list without its closing "et al.", and the flags saying a list was shortened and by how many.

    >>> shown_authors("A. Person, B. Other, et al. (57 additional authors not shown)")
    ('A. Person, B. Other', ['authors_truncated', 'authors_not_shown:57'])
    """
    m = AUTHORS_NOT_SHOWN.search(value)
    if m is None:
        return value, []
    hidden = m["n"]
    flags = ["authors_truncated"] + ([f"authors_not_shown:{int(hidden.replace(',', ''))}"] if hidden else [])
    return value[: m.start()], flags


def without_affiliations(value: str) -> str:
    """An author list with the affiliations in parentheses removed (innermost first, so nested ones go whole).

    >>> without_affiliations("A. Person (Inst. of Y (IY), Tokyo) and B. Other")
    'A. Person   and B. Other'
    """
    previous = None
    while previous != value:  # innermost parentheses first, so "(Inst. (IPS), Tokyo)" goes with its comma
        previous, value = value, _PARENTHESISED.sub(" ", value)
    return value.replace("(", " ").replace(")", " ")  # an unbalanced leftover is not part of a name


# ---------------------------------------------------------------------------------------------- dates

MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
# A page's date line: "Mar 13", "March 13, 2025".
MONTH_DAY = re.compile(
    r"^(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?$",
    re.IGNORECASE,
)
_FILENAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_FILENAME_YEAR = re.compile(r"(?<![0-9])((?:19|20)\d{2})(?![0-9])")


def month_day(line: str) -> tuple[int, int, int | None] | None:
    """A date line -> (month, day, year or None), or None when the line is not one.

    >>> month_day("Mar 13"), month_day("March 13, 2025"), month_day("A Title")
    ((3, 13, None), (3, 13, 2025), None)
    """
    m = MONTH_DAY.match(line)
    if m is None:
        return None
    return MONTHS[m["mon"].lower()[:3]], int(m["day"]), int(m["year"]) if m["year"] else None


def resolved_digest_date(
    month: int | None, day: int | None, year_in_dump: int | None, dump: Dump, year: int | None
) -> Digest:
    """Digest date from the dump's own month/day, completing the year from file name, --year or file time.

    >>> # "Mar 13" in 2025-digest.txt -> (2025-03-13, "header+filename")
    """
    mtime = dt.datetime.fromtimestamp(dump.mtime, tz=dt.timezone.utc).date()
    name = Path(dump.rel_path).name
    if month is None or day is None:
        if m := _FILENAME_DATE.search(name):
            return dt.date(int(m[1]), int(m[2]), int(m[3])), "filename"
        return mtime, "file_mtime"
    if year_in_dump is not None:
        return _safe_date(year_in_dump, month, day), "header"
    if m := _FILENAME_YEAR.search(name):
        return _safe_date(int(m[1]), month, day), "header+filename"
    if year is not None:
        return _safe_date(year, month, day), "header+year_option"
    # A digest is saved after it is published: a month/day later than the file time belongs to last year.
    guess = _safe_date(mtime.year, month, day)
    if guess is not None and guess > mtime:
        guess = _safe_date(mtime.year - 1, month, day)
    return guess, "header+file_mtime"


def digest_date(dump: Dump, year: int | None, *found: Digest) -> Digest:
    """The first of the days a format found (each with its source name) that is not None, else the day the file's
    name or time gives.

    >>> # digest_date(dump, None, (None, "header"), (2026-01-06, "email_date_header")) -> (2026-01-06, "email_...")
    """
    for day, source in found:
        if day is not None:
            return day, source
    return resolved_digest_date(None, None, None, dump, year)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def instant(value: object) -> dt.datetime | None:
    """An RFC 822 or ISO 8601 date -> aware UTC datetime (naive taken as UTC), or None (also for a non-string).

    >>> instant("Tue, 06 Jan 2026 00:00:00 -0500")
    datetime.datetime(2026, 1, 6, 5, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
