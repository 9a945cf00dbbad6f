"""Extract: raw dump files -> raw records with provenance, plus quarantined records with reasons.

One reader per dump format, chosen by sniffing the decoded content (never the file name); every reader returns
the RAW_RECORDS schema. Files already extracted are served from a content-addressed cache. No cleaning happens
here: titles and abstracts are kept exactly as they appear in the dump.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from schemas.tables import QUARANTINE, RAW_RECORDS, empty, polars_schema

# Bump when any reader's output changes, so cached per-file results are not reused.
EXTRACT_VERSION = 1
RAW_TEXT_LIMIT = 2000
MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_MONTH_DAY = re.compile(
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


class UnusableInput(Exception):
    """The input directory holds nothing that can be read."""


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


# ---------------------------------------------------------------------------------------------- readers

# Header lines of the English page; a translated header is recognised by its date line instead.
HF_HEADER_LINES = frozenset(
    {"new", "get trending papers in your email inbox!", "subscribe", "byak and the research community"}
)
# How many non-blank lines the page header can span before the first title.
HF_HEADER_SPAN = 8


def abstract_like(text: pl.Expr) -> pl.Expr:
    """True where a line reads as an abstract rather than a title (decided by content, not position).

    Titles are short and rarely end with a full stop; abstracts are sentences. A short one-sentence abstract
    still ends with terminal punctuation after at least ~15 words.
    """
    n_chars = text.str.len_chars()
    n_words = text.str.count_matches(r"\S+")
    ends_sentence = text.str.contains(r"[.!?][\"')\]]?\s*$")
    sentences = text.str.count_matches(r"[.!?]\s+[A-Z(]")
    return (n_chars > 320) | (n_words > 40) | (ends_sentence & (n_words >= 15)) | ((sentences >= 2) & (n_words >= 12))


class HfPapersText:
    """Hugging Face papers page copied as text: header, then title / blank / abstract / blank records.

    >>> # "Mar 13\\n\\nA Title\\n\\nAn abstract ..." -> one record, digest date from the header's "Mar 13"
    """

    name = "hf_papers_text"

    def sniff(self, text: str) -> bool:
        lines = [ln.strip().replace("\xa0", " ") for ln in text[:20000].split("\n") if ln.strip()]
        head = lines[:HF_HEADER_SPAN]
        if any(ln.lower() in HF_HEADER_LINES for ln in head) or any(_MONTH_DAY.match(ln) for ln in head):
            return True
        # No header at all: plain text made of short lines followed by long ones.
        frame = pl.DataFrame({"text": lines[:40]})
        if frame.is_empty():
            return False
        is_abs = frame.select(abstract_like(pl.col("text"))).to_series()
        return bool(is_abs.any()) and bool((~is_abs).any()) and not text.lstrip().startswith(("<", "{", "["))

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        lines = pl.DataFrame({"text": text.split("\n")}).with_row_index("line", offset=1)
        lines = lines.with_columns(
            pl.col("line").cast(pl.Int32),
            pl.col("text").str.replace_all("\xa0", " ").str.strip_chars().alias("probe"),
        ).filter(pl.col("probe") != "")
        header_len, (month, day, year_in_dump) = self._header(lines["probe"].head(HF_HEADER_SPAN).to_list())
        truncated = dump_cut_short(text)
        body = lines.slice(header_len).with_columns(abstract_like(pl.col("probe")).alias("is_abstract"))
        if truncated:
            # A dump cut mid-abstract leaves a short final line after a title: it is that title's abstract.
            last = pl.int_range(pl.len()) == pl.len() - 1
            body = body.with_columns(
                pl.when(last & ~pl.col("is_abstract").shift(1, fill_value=True))
                .then(pl.lit(True))
                .otherwise(pl.col("is_abstract"))
                .alias("is_abstract")
            )
        body = body.with_columns((~pl.col("is_abstract")).cum_sum().alias("record"))
        digest_date, date_source = resolved_digest_date(month, day, year_in_dump, dump, year)

        orphans = body.filter(pl.col("record") == 0)
        grouped = (
            body.filter(pl.col("record") > 0)
            .group_by("record", maintain_order=True)
            .agg(
                pl.col("line").first(),
                pl.col("text").first().alias("title_raw"),
                pl.col("text").filter(pl.col("is_abstract")).alias("abstracts"),
                pl.col("line").filter(pl.col("is_abstract")).alias("abstract_lines"),
            )
        )
        # A title followed by two abstract-like lines: the second cannot be paired and must not shift the rest.
        extras = grouped.select(
            pl.col("abstracts").list.slice(1).alias("text"), pl.col("abstract_lines").list.slice(1).alias("line")
        ).explode("text", "line").drop_nulls("text")
        last_record = grouped.height
        records = grouped.with_columns(
            pl.col("record").cast(pl.Int32).alias("position"),
            pl.col("abstracts").list.first().str.strip_chars().alias("abstract_raw"),
            pl.col("title_raw").str.strip_chars(),
        ).with_columns(
            pl.concat_list(
                pl.when(pl.col("abstract_raw").is_null()).then(pl.lit("abstract_missing")),
                pl.when(pl.lit(truncated) & (pl.col("record") == last_record)).then(pl.lit("truncated")),
            )
            .list.drop_nulls()
            .alias("record_flags"),
            pl.lit(dump.rel_path).alias("source_path"),
            pl.lit(dump.sha256).alias("source_sha256"),
            pl.lit(self.name).alias("source_format"),
            pl.lit(digest_date, dtype=pl.Date).alias("digest_date"),
            pl.lit(date_source, dtype=pl.String).alias("digest_date_source"),
            pl.lit(None, dtype=pl.String).alias("section"),
            pl.lit(None, dtype=pl.String).alias("arxiv_id"),
            pl.lit([], dtype=pl.List(pl.String)).alias("authors"),
            pl.lit([], dtype=pl.List(pl.String)).alias("categories"),
            pl.lit(None, dtype=polars_schema(RAW_RECORDS)["published_at"]).alias("published_at"),
            pl.lit([], dtype=polars_schema(RAW_RECORDS)["source_links"]).alias("source_links"),
        )
        problems = [
            {"line": ln, "text": tx, "reason": "abstract-like line with no title before it"}
            for ln, tx in zip(orphans["line"], orphans["text"])
        ] + [
            {"line": ln, "text": tx, "reason": "second abstract-like line after one title (cannot be paired)"}
            for ln, tx in zip(extras["line"], extras["text"])
        ]
        quarantine = quarantine_frame(
            [
                {
                    "source_path": dump.rel_path,
                    "source_sha256": dump.sha256,
                    "location": f"line {p['line']}",
                    "reason": p["reason"],
                    "raw_text": p["text"],
                }
                for p in sorted(problems, key=lambda p: p["line"])
            ]
        )
        return Parsed(records.select(RAW_RECORDS.names), quarantine, self.name)

    @staticmethod
    def _header(head: list[str]) -> tuple[int, tuple[int | None, int | None, int | None]]:
        """Number of header lines at the top, and the (month, day, year) of the header's date line if any."""
        for i, line in enumerate(head):
            if m := _MONTH_DAY.match(line):
                year = int(m["year"]) if m["year"] else None
                return i + 1, (MONTHS[m["mon"].lower()[:3]], int(m["day"]), year)
        n = 0
        while n < len(head) and head[n].lower() in HF_HEADER_LINES:
            n += 1
        return n, (None, None, None)


READERS: tuple[Reader, ...] = (HfPapersText(),)


# ---------------------------------------------------------------------------------------------- dumps


def parsed_dump(dump: Dump, year: int | None) -> Parsed:
    """Pick the reader for one dump by sniffing its content and run it; anything unusable is quarantined."""
    if not dump.data.strip():
        return whole_file_quarantined(dump, "empty file", None)
    if looks_binary(dump.data):
        return whole_file_quarantined(dump, "binary content, not a text dump", dump.data[:200].hex())
    text, fallback = decoded_text(dump.data)
    for reader in READERS:
        if reader.sniff(text):
            parsed = reader.read(dump, text, year)
            if fallback:
                flag = f"decoded_as_{fallback}"
                parsed = Parsed(
                    parsed.records.with_columns(pl.col("record_flags").list.concat(pl.lit([flag]))),
                    parsed.quarantine,
                    parsed.source_format,
                )
            return parsed
    return whole_file_quarantined(dump, "unrecognised dump format (no reader matched)", text[:RAW_TEXT_LIMIT])


def dump_paths(raw_dir: Path) -> list[Path]:
    """Dump files under raw_dir in a stable order (hidden files and placeholders skipped)."""
    if not raw_dir.is_dir():
        raise UnusableInput(f"raw directory {raw_dir} does not exist")
    return sorted(
        p
        for p in raw_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)
    )


def cache_key(dump: Dump, year: int | None) -> str:
    """Everything a reader's output depends on: content, name (provenance), date inputs and reader version."""
    mtime_day = dt.datetime.fromtimestamp(dump.mtime, tz=dt.timezone.utc).date().isoformat()
    basis = f"{EXTRACT_VERSION}|{dump.sha256}|{dump.rel_path}|{year}|{mtime_day}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def extracted_dump(path: Path, raw_dir: Path, cache_dir: Path | None, year: int | None) -> tuple[Parsed, dict]:
    """One dump's records and quarantine, reused from the cache when the same file was extracted before."""
    dump = Dump.load(path, raw_dir)
    key = cache_key(dump, year)
    entry = cache_dir / key if cache_dir else None
    if entry is not None and (entry / "done").exists():
        parsed = Parsed(
            pl.read_parquet(entry / "records.parquet"),
            pl.read_parquet(entry / "quarantine.parquet"),
            (entry / "done").read_text().strip(),
        )
        cached = True
    else:
        parsed = parsed_dump(dump, year)
        cached = False
        if entry is not None:
            _write_cache_entry(entry, parsed)
    info = {
        "path": dump.rel_path,
        "sha256": dump.sha256,
        "format": parsed.source_format,
        "records": parsed.records.height,
        "quarantined": parsed.quarantine.height,
        "cached": cached,
    }
    return parsed, info


def _write_cache_entry(entry: Path, parsed: Parsed) -> None:
    """Write a cache entry so that a crash never leaves a half-written entry that looks complete."""
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    parsed.records.write_parquet(tmp / "records.parquet")
    parsed.quarantine.write_parquet(tmp / "quarantine.parquet")
    (tmp / "done").write_text(parsed.source_format + "\n")
    try:
        tmp.rename(entry)
    except OSError:  # another run wrote the same entry first; its content is identical
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
