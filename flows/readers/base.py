"""What every reader shares: Dump and Parsed, the Reader interface, decoding, text safety, bounds, date helpers.

Readers build on these and return RAW_RECORDS-shaped frames; nothing here picks a reader or touches caches.
Everything here sees untrusted bytes, so every helper is linear in its input and none of them raises on bad data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow as pa

from schemas.tables import QUARANTINE, RAW_RECORDS, empty, polars_schema

RAW_TEXT_LIMIT = 2000
# Sane bounds (issue 9): a real title is under ~300 characters and a real URL under ~500; ten times that is junk
# (a whole page glued into one field, a data: URI), never something to publish as-is.
TITLE_MAX_CHARS = 1000
URL_MAX_CHARS = 2000
# A dump that inflates past this is refused rather than allowed to exhaust memory (a gzip bomb).
MAX_DUMP_BYTES = 2 << 30

# What the text-safety helpers flag on a record (they join record_flags; documented for the dataset card).
SAFETY_FLAGS = {
    "invalid_unicode_replaced": "a lone UTF-16 surrogate (e.g. a JSON \\ud800 escape) was replaced by U+FFFD",
    "control_characters_removed": "NUL or another control character was removed (form feeds became spaces)",
    "bidi_controls_removed": "a bidirectional embedding/override/isolate (e.g. U+202E) was removed",
    "url_too_long": f"a URL longer than {URL_MAX_CHARS:,} characters was dropped from the record's links",
}
MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
MONTH_DAY = re.compile(
    r"^(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?$",
    re.IGNORECASE,
)
_FILENAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")
_FILENAME_YEAR = re.compile(r"(?<![0-9])((?:19|20)\d{2})(?![0-9])")


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

    name: str
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


# ---------------------------------------------------------------------------------------------- text safety

# Lone surrogates cannot be encoded as UTF-8, so Polars and Arrow refuse them; C0 controls and bidi overrides
# are valid but must never be published (a NUL in a title, an RTL override that reverses what a reader sees).
# C1 controls (U+0080..U+009F) are kept: they are how latin-1 mojibake looks, and clean.py repairs it.
_SURROGATES = "\ud800-\udfff"
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_SURROGATES}{_CONTROLS}{_BIDI}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_CONTROL = re.compile(f"[{_CONTROLS}]")
_VERTICAL_SPACE = re.compile("[\x0b\x0c]")
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
# The same classes for Polars (Rust regex syntax); surrogates cannot exist inside a Polars string.
_PL_CONTROL = r"[\x00-\x08\x0E-\x1F\x7F]"
_PL_VERTICAL_SPACE = r"[\x0B\x0C]"
_PL_BIDI = r"[\x{202A}-\x{202E}\x{2066}-\x{2069}]"
_PL_UNSAFE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{202A}-\x{202E}\x{2066}-\x{2069}]"
# The same set as scans of at most three bytes each, which the regex engine runs as a vectorised byte search
# (memchr3), and the bidi class (found by its lead byte). On abstracts (a kilobyte each) they take a quarter of
# the time of the one class, which the engine scans a byte at a time; on short values each search's set-up
# dominates and the one class is cheaper.
_UNSAFE_BYTES = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0x7F]
_PL_UNSAFE_SCANS = [
    "[" + "".join(f"\\x{c:02X}" for c in _UNSAFE_BYTES[i : i + 3]) + "]" for i in range(0, len(_UNSAFE_BYTES), 3)
] + [_PL_BIDI]


def sane_text(text: str) -> tuple[str, list[str]]:
    """A string made safe to hand to Polars and to publish, and the flags saying what was changed.

    Lone surrogates become U+FFFD (a pair split in two is joined back), NUL and other C0 controls are removed
    (vertical tab and form feed become spaces), bidi embeddings/overrides/isolates are removed. Linear time.

    >>> sane_text("Ti\\x00tle \\u202eevil \\ud800")
    ('Title evil \\ufffd', ['invalid_unicode_replaced', 'control_characters_removed', 'bidi_controls_removed'])
    """
    if not _UNSAFE.search(text):
        return text, []
    flags = []
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        flags.append("invalid_unicode_replaced")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", _VERTICAL_SPACE.sub(" ", text))
        flags.append("control_characters_removed")
    if _BIDI_CONTROL.search(text):
        text = _BIDI_CONTROL.sub("", text)
        flags.append("bidi_controls_removed")
    return text, flags


def _sane_value(value, flags: list[str]):
    """sane_text over a reader value: strings, lists of strings, dicts (source_links structs); the rest as is."""
    if isinstance(value, str):
        clean, found = sane_text(value)
        flags.extend(f for f in found if f not in flags)
        return clean
    if isinstance(value, list):
        return [_sane_value(v, flags) for v in value]
    if isinstance(value, dict):
        return {k: _sane_value(v, flags) for k, v in value.items()}
    return value


def sane_text_expr(expr: pl.Expr) -> pl.Expr:
    """The Polars side of sane_text for one String column: controls and bidi overrides removed (vectorised)."""
    return (
        expr.str.replace_all(_PL_VERTICAL_SPACE, " ")
        .str.replace_all(_PL_CONTROL, "")
        .str.replace_all(_PL_BIDI, "")
    )


def unsafe_text_flags(expr: pl.Expr) -> list[pl.Expr]:
    """Per-row flag expressions (String or null) for what sane_text_expr will change in one String column."""
    return [
        pl.when(expr.str.contains(_PL_CONTROL) | expr.str.contains(_PL_VERTICAL_SPACE))
        .then(pl.lit("control_characters_removed")),
        pl.when(expr.str.contains(_PL_BIDI)).then(pl.lit("bidi_controls_removed")),
    ]


def has_unsafe_text(expr: pl.Expr, *, long_values: bool = False) -> pl.Expr:
    """True where a String column holds anything sane_text_expr would change (long_values: see _PL_UNSAFE_SCANS)."""
    if long_values:
        return pl.any_horizontal([expr.str.contains(scan) for scan in _PL_UNSAFE_SCANS]).fill_null(False)
    return expr.str.contains(_PL_UNSAFE).fill_null(False)


def quarantine_frame(rows: list[dict]) -> pl.DataFrame:
    """Quarantine rows -> frame with the QUARANTINE schema (strings made safe, raw_text cut to RAW_TEXT_LIMIT)."""
    if not rows:
        return empty(QUARANTINE)
    safe = []
    for row in rows:
        if row.get("raw_text") is not None:
            row = {**row, "raw_text": row["raw_text"][:RAW_TEXT_LIMIT]}
        safe.append(_sane_value(row, []))  # quarantine rows carry no flags: the text is only made safe
    return pl.DataFrame(safe, schema=polars_schema(QUARANTINE))


def whole_file_quarantined(
    dump: Dump, reason: str, raw_text: str | None, location: str = "byte 0", source_format: str = "unknown"
) -> Parsed:
    """A dump no reader can use: one quarantine row naming the file."""
    row = {"source_path": dump.rel_path, "source_sha256": dump.sha256, "location": location, "reason": reason}
    return Parsed(empty(RAW_RECORDS), quarantine_frame([{**row, "raw_text": raw_text}]), source_format)


CENSUS_SHORTFALL = "census_shortfall"


def census_reconciled(parsed: Parsed, dump: Dump, reader: Reader, text: str) -> Parsed:
    """The reader's output, plus one quarantine row naming the file and the count when it falls short of what
    the file announces (Parsed.announced, from reader.census): records the parser never saw are not silent.

    >>> # a page announcing 4 paper links read as 1 record -> a row "census_shortfall: ... 3 not accounted for"
    """
    accounted = parsed.records.height + parsed.quarantine.height
    if parsed.announced is None or accounted >= parsed.announced:
        return parsed
    missing = parsed.announced - accounted
    reason = (
        f"{CENSUS_SHORTFALL}: the file announces {parsed.announced:,} {reader.announces}; the {reader.name} reader "
        f"gave {parsed.records.height:,} records and {parsed.quarantine.height:,} quarantined, "
        f"{missing:,} not accounted for"
    )
    row = {"source_path": dump.rel_path, "source_sha256": dump.sha256, "location": "whole file",
           "reason": reason, "raw_text": text[:RAW_TEXT_LIMIT] if not accounted else None}
    quarantine = pl.concat([parsed.quarantine, quarantine_frame([row])])
    return dataclasses.replace(parsed, quarantine=quarantine, shortfall=missing)


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
        return pl.DataFrame([_sane_row(row) for row in full], schema=schema)


def _sane_row(row: dict) -> dict:
    flags: list[str] = []
    clean = {k: _sane_value(v, flags) for k, v in row.items() if k != "record_flags"}
    return {**clean, "record_flags": [*(row.get("record_flags") or []), *flags]}


# ---------------------------------------------------------------------------------------------- frames


_STRING_FIELDS = ("title_raw", "abstract_raw", "comments", "journal_ref", "doi", "arxiv_id", "section")
_LIST_FIELDS = ("authors", "categories")
_LONG_FIELDS = ("abstract_raw",)  # a kilobyte a value: checked with the byte searches (see _PL_UNSAFE_SCANS)


def sanitized_records(records: pl.DataFrame) -> pl.DataFrame:
    """Raw records with unsafe characters removed from every text field and flagged in record_flags.

    Vectorised, and a no-op after one scan per column when nothing is unsafe (the usual case).
    """
    # Every text a record holds, one String expression each (list fields joined: a flag is per record).
    texts = [pl.col(c) for c in _STRING_FIELDS] + [pl.col(c).list.join("\n") for c in _LIST_FIELDS]
    texts.append(pl.col("source_links").list.eval(pl.element().struct.field("url")).list.join("\n"))
    checks = [has_unsafe_text(t, long_values=t.meta.output_name() in _LONG_FIELDS) for t in texts]
    if not records.select(pl.any_horizontal(checks).any()).item():
        return records
    found = pl.concat_list([flag for t in texts for flag in unsafe_text_flags(t)]).list.drop_nulls()
    return records.with_columns(
        *[sane_text_expr(pl.col(c)) for c in _STRING_FIELDS],
        *[pl.col(c).list.eval(sane_text_expr(pl.element())) for c in _LIST_FIELDS],
        pl.col("source_links").list.eval(
            pl.element().struct.with_fields(sane_text_expr(pl.field("url")), sane_text_expr(pl.field("kind")))
        ),
        pl.concat_list(pl.col("record_flags"), found).list.unique(maintain_order=True).alias("record_flags"),
    )


def sanitized_quarantine(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows with unsafe characters removed from their text (they carry no flags column)."""
    cols = [c for c, t in quarantine.schema.items() if t == pl.String]
    if not quarantine.select(pl.any_horizontal(has_unsafe_text(pl.col(c)) for c in cols).any()).item():
        return quarantine
    return quarantine.with_columns(sane_text_expr(pl.col(c)).alias(c) for c in cols)


def overlong_url(text: pl.Expr, limit: int = URL_MAX_CHARS) -> pl.Expr:
    """True where a String column holds a URL (https?://\\S+) longer than `limit` characters.

    One scan, no list of URLs: the scheme followed by enough non-space characters is such a URL, or lies inside one
    (a longer URL that runs on into it), so the answer is the same as measuring every URL found.
    """
    return text.str.contains(rf"https://\S{{{max(limit - 7, 1)}}}|http://\S{{{max(limit - 6, 1)}}}").fill_null(False)


def bounded_records(records: pl.DataFrame) -> tuple[pl.DataFrame, list[dict]]:
    """Raw records within sane bounds, and quarantine rows for those that are not.

    A title over TITLE_MAX_CHARS is not a title (a page glued into one line): the record is quarantined.
    A structured link over URL_MAX_CHARS is dropped and the record flagged `url_too_long`; a URL that long in the
    abstract text is flagged too (bounded_links drops it once cleaning has extracted it).
    """
    too_long = pl.col("title_raw").str.len_chars() > TITLE_MAX_CHARS
    long_link = pl.col("source_links").list.eval(pl.element().struct.field("url").str.len_chars() > URL_MAX_CHARS)
    long_in_text = overlong_url(pl.col("abstract_raw")) | overlong_url(pl.col("title_raw"))
    marks = records.select(
        too_long.alias("title"), long_link.list.any().fill_null(False).alias("link"), long_in_text.alias("text")
    )
    if not (marks["title"].any() or marks["link"].any() or marks["text"].any()):
        return records, []
    marked = pl.concat([records, marks], how="horizontal")
    rejected = marked.filter(pl.col("title"))
    problems = [
        {
            "source_path": r["source_path"],
            "source_sha256": r["source_sha256"],
            "location": f"line {r['line']}",
            "reason": f"title longer than {TITLE_MAX_CHARS:,} characters ({len(r['title_raw']):,}): not a title",
            "raw_text": r["title_raw"],
        }
        for r in rejected.select("source_path", "source_sha256", "line", "title_raw").iter_rows(named=True)
    ]
    kept = marked.filter(~pl.col("title")).with_columns(
        pl.col("source_links").list.filter(
            pl.element().struct.field("url").str.len_chars() <= URL_MAX_CHARS
        ),
        pl.when(pl.col("link") | pl.col("text"))
        .then(pl.col("record_flags").list.concat(pl.lit(["url_too_long"])).list.unique(maintain_order=True))
        .otherwise(pl.col("record_flags"))
        .alias("record_flags"),
    )
    return kept.select(records.columns), problems


def sniffed_reader(readers: tuple[Reader, ...], text: str) -> Reader | None:
    """The first reader that recognises the text; a sniffer that fails on odd input does not claim it."""
    for reader in readers:
        try:
            if reader.sniff(text):
                return reader
        except Exception:  # noqa: BLE001, S112 - a sniffer bug must not hide the file from the other readers
            continue
    return None


def finished(parsed: Parsed, fallback: str | None = None) -> Parsed:
    """A reader's output made fit to leave extraction: exact schemas, safe text, sane bounds, decoding flag.

    Raises (for the caller to quarantine the file) only when a reader's frame cannot be cast to the schema.
    """
    records = sanitized_records(conformed(parsed.records, RAW_RECORDS))
    quarantine = sanitized_quarantine(conformed(parsed.quarantine, QUARANTINE))
    if fallback:
        records = records.with_columns(pl.col("record_flags").list.concat(pl.lit([f"decoded_as_{fallback}"])))
    records, out_of_bounds = bounded_records(records)
    if out_of_bounds:
        quarantine = pl.concat([quarantine, quarantine_frame(out_of_bounds)])
    return dataclasses.replace(parsed, records=records, quarantine=quarantine)


def conformed(frame: pl.DataFrame, schema: pa.Schema) -> pl.DataFrame:
    """The frame with exactly the schema's columns, in order and type (cast strictly if a reader was loose)."""
    target = polars_schema(schema)
    if frame.schema == target:
        return frame
    return frame.select([pl.col(name).cast(dtype, strict=True) for name, dtype in target.items()])


def bounded_links(links: pl.DataFrame, limit: int = URL_MAX_CHARS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Links within the URL bound, and the overlong ones (for the caller to flag their papers `url_too_long`).

    For the identity stage, after URLs have been extracted from abstracts: a URL longer than `limit` characters
    is junk (a data: URI, a page glued to a link), never something to publish.
    """
    long = pl.col("url").str.len_chars() > limit
    return links.filter(~long.fill_null(False)), links.filter(long.fill_null(False))
