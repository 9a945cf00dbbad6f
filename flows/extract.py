"""Extract: raw dump files -> raw records with provenance, plus quarantined records with reasons.

One reader per dump format (flows/readers/), chosen by sniffing the decoded content, never the file name; every
reader returns the RAW_RECORDS schema. No cleaning and no caching happen here (flows/prepare.py keeps each file's
result): titles and abstracts are kept exactly as they appear in the dump.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flows.readers.arxiv_listing import ArxivEmail, ArxivListingText
from flows.readers.base import (
    RAW_TEXT_LIMIT,
    Dump,
    Parsed,
    Reader,
    census_reconciled,
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
    if not dump.data or dump.data.isspace():  # as `not data.strip()`, without copying the dump
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
        announced = _census(reader, text)
        parsed = reader.read(dump, text, year)
        stage = "checking its output"
        parsed = dataclasses.replace(finished(parsed, fallback), announced=announced)
        if parsed.records.is_empty() and parsed.quarantine.is_empty():
            if announced == 0:
                return parsed  # the file announces nothing (a feed on a quiet day): nothing is lost
            if announced is None:  # nothing, and no count to say what is missing: the file itself is quarantined
                reason = f"no records found ({reader_name} reader)"
                return whole_file_quarantined(dump, reason, text[:RAW_TEXT_LIMIT], source_format=reader_name)
        return census_reconciled(parsed, dump, reader, text)
    except Exception as exc:  # noqa: BLE001 - one bad file must never fail the run; the reason is kept
        reason = f"{reader_name} reader failed while {stage}: {type(exc).__name__}: {exc}"
        head = dump.data[:RAW_TEXT_LIMIT].decode("utf-8", "replace")
        return whole_file_quarantined(dump, reason[:500], head, source_format=reader_name)


def _census(reader: Reader, text: str) -> int | None:
    """The reader's count of what the text announces; None if counting fails (it guards the parse, never
    replaces it, so a census bug must not cost the file its records)."""
    try:
        return reader.census(text)
    except Exception:  # noqa: BLE001 - see the docstring
        return None


def dump_paths(raw_dir: Path) -> list[Path]:
    """Dump files under raw_dir in a stable order (hidden files and placeholders skipped)."""
    if not raw_dir.is_dir():
        raise UnusableInput(f"raw directory {raw_dir} does not exist")
    return sorted(
        p
        for p in raw_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)
    )
