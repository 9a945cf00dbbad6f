"""What every reader shares: Dump and Parsed, the Reader interface, decoding, and the two frames readers return.

Readers build their rows with flows/readers/vocabulary.py and hand them to records_frame / quarantine_frame here;
nothing here picks a reader, knows a format or touches caches. Everything here sees untrusted bytes, so every
helper is linear in its input and none of them raises on bad data.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from flows.readers.safety import sane_row, sane_value
from schemas.tables import QUARANTINE, RAW_RECORDS, empty, polars_schema

__all__ = [
    "MAX_DUMP_BYTES", "RAW_TEXT_LIMIT", "Dump", "Parsed", "Reader", "decoded_text",
    "dump_cut_short", "gunzipped", "looks_binary", "os_error_text", "quarantine_frame", "records_frame",
]

RAW_TEXT_LIMIT = 2000
# A dump that inflates past this is refused rather than allowed to exhaust memory (a gzip bomb).
MAX_DUMP_BYTES = 2 << 30


@dataclass(frozen=True)
class Dump:
    """One raw file: where it is, its bytes (decompressed) and their hash.

    A file that cannot be read or decompressed still loads: `data` is empty and `problem` says why (and
    `problem_location` where), so the caller quarantines that one file instead of failing the run.
    """

    path: Path
    rel_path: str
    sha256: str
    data: bytes
    mtime: float
    problem: str | None = None
    problem_location: str = "byte 0"

    @classmethod
    def load(cls, path: Path, raw_dir: Path) -> Dump:
        rel_path = path.relative_to(raw_dir).as_posix()
        try:
            raw = path.read_bytes()
            mtime = path.stat().st_mtime
        except OSError as exc:
            empty_sha = hashlib.sha256(b"").hexdigest()
            return cls(path, rel_path, empty_sha, b"", 0.0, f"unreadable file: {os_error_text(exc)}")
        sha256 = hashlib.sha256(raw).hexdigest()
        if raw[:2] != b"\x1f\x8b":
            return cls(path, rel_path, sha256, raw, mtime)
        data, problem, offset = gunzipped(raw)
        if problem:
            return cls(path, rel_path, sha256, b"", mtime, problem, f"byte {offset}")
        return cls(path, rel_path, sha256, data, mtime)


@dataclass(frozen=True)
class Parsed:
    """What a reader made of one dump."""

    records: pl.DataFrame
    quarantine: pl.DataFrame
    source_format: str
    # How many records the input itself announces, counted apart from the parser by the reader's census (see
    # Reader.census); 0 makes an empty result legitimate (a weekend feed), not a loss. None: not counted.
    announced: int | None = None
    shortfall: int = 0  # announced records neither in records nor in quarantine (one census row says so)


class Reader(Protocol):
    """A dump format: recognise it from its text, count what it announces, then turn it into raw records."""

    name: str  # the source_format of every record and quarantine row it gives (RAW_RECORDS.source_format)
    # How far a paper's fields from this format are trusted when sightings disagree (flows/identity.py's
    # SOURCE_RANK is made of these): 0 for arXiv's own metadata, higher for what was scraped from a page.
    rank: int
    announces: str  # what census() counts, in words ("arXiv: id lines", "<item>/<entry> elements", ...)

    def sniff(self, text: str) -> bool: ...

    def census(self, text: str) -> int:
        """How many records the text announces, by a cheap count that shares nothing with read() (a regex or
        byte count, linear time). A lower bound: what read() gives as records + quarantine rows is never less
        for an intact file, so a shortfall means the parser lost records (flows/extract.py reconciles them)."""
        ...

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
    # Each replace is a pass over the whole text; most dumps have no CR at all, which one byte search tells.
    return (text.replace("\r\n", "\n").replace("\r", "\n") if b"\r" in data else text), fallback


def looks_binary(data: bytes) -> bool:
    """True for content that is not text at all: a run of NUL bytes, or mostly control characters.

    A stray NUL in a text dump (a damaged title) is not binary: the text is read and the NUL removed and flagged.
    """
    head = data[:4096]
    if b"\x00\x00" in head:
        return True
    controls = sum(b < 32 and b not in (9, 10, 13, 12) for b in head)
    return bool(head) and controls / len(head) > 0.1


def dump_cut_short(text: str) -> bool:
    """True when the dump stops mid-sentence: no final newline and the last line ends neither a sentence nor a URL.

    Linear in the length of the last line: only its last two characters and its last word are looked at (an
    unanchored `https?://\\S+$` search was quadratic on a long line full of "http://").

    >>> dump_cut_short("...available at https://github.com/a/b")  # the seed ends like this and is whole
    False
    """
    if text.endswith("\n"):
        return False
    last = text.rsplit("\n", 1)[-1].strip()
    if last[-1:] in _SENTENCE_END or (last[-1:] in _CLOSERS and last[-2:-1] in _SENTENCE_END):
        return False
    words = last.rsplit(None, 1)
    # The last word holds a URL that runs to its end (also when glued to a word: "researchhttps://...").
    return not (words and _URL_START.search(words[-1]))


_SENTENCE_END = frozenset(".!?")
_CLOSERS = frozenset("\"')]")
_URL_START = re.compile(r"https?://\S")


def gunzipped(raw: bytes, limit: int = MAX_DUMP_BYTES) -> tuple[bytes, str | None, int]:
    """Every gzip member of `raw` inflated, or (b"", what is wrong, byte offset of the fault).

    Stricter than gzip.decompress in what it reports (truncation, bad CRC, trailing garbage each get their own
    reason) and bounded: output beyond `limit` bytes is refused, so a small bomb cannot exhaust memory.

    >>> gunzipped(gzip.compress(b"abc") + b"junk")[1:]
    ('bytes after the end of the gzip stream are not gzip data', 23)
    """
    out: list[bytes] = []
    size, offset = 0, 0
    while offset < len(raw):
        if raw[offset : offset + 2] != b"\x1f\x8b":
            if out and not raw[offset:].strip(b"\x00"):
                break  # zero padding after the last member is harmless (gzip(1) accepts it too)
            return b"", "bytes after the end of the gzip stream are not gzip data", offset
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        # Fed in blocks: what is left after a member (unused_data) is then a copy of one block, not of the rest
        # of the file, so many small members stay linear.
        fed, pending = offset, b""
        try:
            while not inflater.eof:
                if not pending:
                    pending = raw[fed : fed + _GZIP_BLOCK]
                    fed += len(pending)
                    if not pending:
                        return b"", "gzip stream cut short (the file ends before its end-of-stream marker)", len(raw)
                chunk = inflater.decompress(pending, limit - size + 1)
                size += len(chunk)
                if size > limit:
                    return b"", f"gzip data inflates beyond {limit:,} bytes (refused)", offset
                out.append(chunk)
                pending = inflater.unconsumed_tail
        except zlib.error as exc:
            return b"", f"corrupt gzip data ({_zlib_reason(exc)})", offset
        offset = fed - len(pending) - len(inflater.unused_data)
    return b"".join(out), None, 0


_GZIP_BLOCK = 1 << 16


def _zlib_reason(exc: zlib.error) -> str:
    text = str(exc)
    if "incorrect data check" in text:
        return "CRC check failed: the content was altered"
    if "incorrect length check" in text:
        return "length check failed"
    if "incorrect header check" in text or "unknown compression method" in text:
        return "not a valid gzip header"
    return text.removeprefix("Error -3 while decompressing data: ")


def os_error_text(exc: OSError) -> str:
    """An OSError as one short clause: the cause in words, then the path when the error names one.

    >>> os_error_text(OSError(errno.ENOSPC, "No space left on device", "/data/x"))
    'no space left on device (/data/x)'
    """
    cause = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    cause = cause[:1].lower() + cause[1:]
    return f"{cause} ({exc.filename})" if exc.filename else cause


# ---------------------------------------------------------------------------------------------- frames


def records_frame(rows: list[dict]) -> pl.DataFrame:
    """Reader rows (dicts with RAW_RECORDS keys; missing keys become null / empty) -> a RAW_RECORDS frame.

    Values Polars cannot hold (lone surrogates from a JSON escape) are made safe first and flagged; other
    unsafe characters are left for the vectorised pass in extract.parsed_dump (sanitized_records).
    """
    schema = polars_schema(RAW_RECORDS)
    defaults = {"authors": [], "categories": [], "source_links": [], "record_flags": []}
    full = [{name: row.get(name, defaults.get(name)) for name in schema} for row in rows]
    if not full:
        return empty(RAW_RECORDS)
    try:
        return pl.DataFrame(full, schema=schema)
    except UnicodeEncodeError:
        return pl.DataFrame([sane_row(row) for row in full], schema=schema)


def quarantine_frame(rows: list[dict]) -> pl.DataFrame:
    """Quarantine rows -> frame with the QUARANTINE schema (strings made safe, raw_text cut to RAW_TEXT_LIMIT)."""
    if not rows:
        return empty(QUARANTINE)
    safe = []
    for row in rows:
        if row.get("raw_text") is not None:
            row = {**row, "raw_text": row["raw_text"][:RAW_TEXT_LIMIT]}
        safe.append(sane_value(row, []))  # quarantine rows carry no flags: the text is only made safe
    return pl.DataFrame(safe, schema=polars_schema(QUARANTINE))
