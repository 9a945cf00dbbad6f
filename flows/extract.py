"""Extract: raw dump files -> raw records with provenance, plus quarantined records with reasons.

One reader per dump format (flows/readers/), chosen by sniffing the decoded content, never the file name; every
reader returns the RAW_RECORDS schema. No cleaning and no caching happen here (flows/prepare.py keeps each file's
result): titles and abstracts are kept exactly as they appear in the dump.
"""

from __future__ import annotations

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
    looks_binary,
    resolved_digest_date,
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
