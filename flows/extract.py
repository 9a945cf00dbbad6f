"""Extract: raw dump files -> raw records with provenance, plus quarantined records with reasons.

One reader per dump format (flows/readers/), chosen by sniffing the decoded content, never the file name; every
reader returns the RAW_RECORDS schema. Files already extracted are served from a content-addressed cache. No
cleaning happens here: titles and abstracts are kept exactly as they appear in the dump.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import polars as pl

from flows.readers.arxiv_listing import ArxivEmail, ArxivListingText
from flows.readers.base import (
    RAW_TEXT_LIMIT,
    Dump,
    Parsed,
    Reader,
    decoded_text,
    dump_cut_short,
    finished,
    looks_binary,
    resolved_digest_date,
    sniffed_reader,
    whole_file_quarantined,
)
from flows.readers.feeds import ArxivFeed
from flows.readers.hf_html import HfPapersHtml
from flows.readers.hf_json import HfDailyJson
from flows.readers.hf_text import HfPapersText

__all__ = ["Dump", "Parsed", "READERS", "UnusableInput", "dump_cut_short", "resolved_digest_date"]

# Bump when any reader's output changes, so cached per-file results are not reused.
EXTRACT_VERSION = 4

# Sniffed in this order: the most specific formats first, the loosely-shaped text page last.
READERS: tuple[Reader, ...] = (
    HfDailyJson(),
    ArxivFeed(),
    HfPapersHtml(),
    ArxivEmail(),
    ArxivListingText(),
    HfPapersText(),
)


class UnusableInput(Exception):
    """The input directory holds nothing that can be read."""


# ---------------------------------------------------------------------------------------------- dumps


def parsed_dump(dump: Dump, year: int | None) -> Parsed:
    """Pick the reader for one dump by sniffing its content and run it; anything unusable is quarantined.

    Never raises on bad input: a file that cannot be decompressed, a reader that fails on it, or a frame that
    does not fit the schema quarantines that file with the reason. The reader's output is made safe and held
    within bounds (readers.base.finished) before it leaves here.
    """
    if dump.problem:
        return whole_file_quarantined(dump, dump.problem, None, dump.problem_location)
    if not dump.data.strip():
        return whole_file_quarantined(dump, "empty file", None)
    if looks_binary(dump.data):
        return whole_file_quarantined(dump, "binary content, not a text dump", dump.data[:200].hex())
    stage, reader_name = "decoding", "unknown"
    try:
        text, fallback = decoded_text(dump.data)
        stage = "sniffing"
        reader = sniffed_reader(READERS, text)
        if reader is None:
            reason = "unrecognised dump format (no reader matched)"
            return whole_file_quarantined(dump, reason, text[:RAW_TEXT_LIMIT])
        stage, reader_name = "reading", reader.name
        parsed = reader.read(dump, text, year)
        stage = "checking its output"
        parsed = finished(parsed, fallback)
        if parsed.records.is_empty() and parsed.quarantine.is_empty():
            # Nothing at all from a non-empty file is a loss unless it is said: the file itself is quarantined.
            reason = f"no records found ({reader_name} reader)"
            return whole_file_quarantined(dump, reason, text[:RAW_TEXT_LIMIT], source_format=reader_name)
        return parsed
    except Exception as exc:  # noqa: BLE001 - one bad file must never fail the run; the reason is kept
        reason = f"{reader_name} reader failed while {stage}: {type(exc).__name__}: {exc}"
        head = dump.data[:RAW_TEXT_LIMIT].decode("utf-8", "replace")
        return whole_file_quarantined(dump, reason[:500], head, source_format=reader_name)


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
