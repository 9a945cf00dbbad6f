"""What every reader shares: the Dump and Parsed types, the Reader interface, decoding and date helpers.

Readers build on these and return RAW_RECORDS-shaped frames; nothing here picks a reader or touches caches.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from schemas.tables import QUARANTINE, RAW_RECORDS, empty, polars_schema

RAW_TEXT_LIMIT = 2000
MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
MONTH_DAY = re.compile(
    r"^(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?$",
    re.IGNORECASE,
)
_FILENAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_FILENAME_YEAR = re.compile(r"(?<![0-9])((?:19|20)\d{2})(?![0-9])")


@dataclass(frozen=True)
class Dump:
    """One raw file: where it is, its bytes (decompressed) and their hash."""

    path: Path
    rel_path: str
    sha256: str
    data: bytes
    mtime: float

    @classmethod
    def load(cls, path: Path, raw_dir: Path) -> Dump:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        return cls(
            path=path,
            rel_path=path.relative_to(raw_dir).as_posix(),
            sha256=hashlib.sha256(raw).hexdigest(),
            data=data,
            mtime=path.stat().st_mtime,
        )


@dataclass(frozen=True)
class Parsed:
    """What a reader made of one dump."""

    records: pl.DataFrame
    quarantine: pl.DataFrame
    source_format: str


class Reader(Protocol):
    """A dump format: recognise it from its text, then turn it into raw records."""

    name: str

    def sniff(self, text: str) -> bool: ...

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed: ...


# ---------------------------------------------------------------------------------------------- helpers


def decoded_text(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text with universal newlines and no BOM; also the name of a fallback codec if one was needed."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text, fallback = data.decode("utf-8"), None
    except UnicodeDecodeError:
        # Saved-from-Windows dumps are cp1252; latin-1 decodes anything, so nothing is ever refused here.
        try:
            text, fallback = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, fallback = data.decode("latin-1"), "latin-1"
    return text.replace("\r\n", "\n").replace("\r", "\n"), fallback


def looks_binary(data: bytes) -> bool:
    """True for content that is not text at all (NUL bytes or mostly control characters)."""
    head = data[:4096]
    if b"\x00" in head:
        return True
    controls = sum(b < 32 and b not in (9, 10, 13, 12) for b in head)
    return bool(head) and controls / len(head) > 0.1


def dump_cut_short(text: str) -> bool:
    """True when the dump stops mid-sentence: no final newline and the last line ends neither a sentence nor a URL.

    >>> dump_cut_short("...available at https://github.com/a/b")  # the seed ends like this and is whole
    False
    """
    if text.endswith("\n"):
        return False
    last = text.rsplit("\n", 1)[-1].strip()
    return not re.search(r"([.!?][\"')\]]?|https?://\S+)$", last)


def quarantine_frame(rows: list[dict]) -> pl.DataFrame:
    """Quarantine rows -> frame with the QUARANTINE schema."""
    for row in rows:
        if row.get("raw_text") is not None:
            row["raw_text"] = row["raw_text"][:RAW_TEXT_LIMIT]
    return pl.DataFrame(rows, schema=polars_schema(QUARANTINE)) if rows else empty(QUARANTINE)


def whole_file_quarantined(dump: Dump, reason: str, raw_text: str | None) -> Parsed:
    """A dump no reader can use: one quarantine row naming the file."""
    row = {"source_path": dump.rel_path, "source_sha256": dump.sha256, "location": "byte 0", "reason": reason}
    return Parsed(empty(RAW_RECORDS), quarantine_frame([{**row, "raw_text": raw_text}]), "unknown")


def resolved_digest_date(
    month: int | None, day: int | None, year_in_dump: int | None, dump: Dump, year: int | None
) -> tuple[dt.date | None, str | None]:
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


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None




def records_frame(rows: list[dict]) -> pl.DataFrame:
    """Reader rows (dicts with RAW_RECORDS keys; missing keys become null / empty) -> a RAW_RECORDS frame."""
    schema = polars_schema(RAW_RECORDS)
    defaults = {"authors": [], "categories": [], "source_links": [], "record_flags": []}
    full = [{name: row.get(name, defaults.get(name)) for name in schema} for row in rows]
    return pl.DataFrame(full, schema=schema) if full else empty(RAW_RECORDS)
