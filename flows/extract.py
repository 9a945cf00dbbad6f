"""Extract: raw dump files -> raw records with provenance, plus quarantined records with reasons.

One reader per dump format (flows/readers/), chosen by sniffing the decoded content, never the file name; every
reader returns the RAW_RECORDS schema. No cleaning and no caching happen here (flows/prepare.py keeps each file's
result): titles and abstracts are kept exactly as they appear in the dump.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pyarrow as pa

from flows.readers.base import (
    RAW_TEXT_LIMIT,
    Dump,
    Parsed,
    Reader,
    decoded_text,
    dump_cut_short,
    looks_binary,
    quarantine_frame,
)
from flows.readers.registry import READERS
from flows.readers.safety import (
    TITLE_MAX_CHARS,
    URL_MAX_CHARS,
    overlong_url,
    sanitized_quarantine,
    sanitized_records,
)
from flows.readers.vocabulary import quarantine_row, resolved_digest_date
from schemas.tables import QUARANTINE, RAW_RECORDS, empty, polars_schema

__all__ = ["Dump", "Parsed", "READERS", "UnusableInput", "dump_cut_short", "resolved_digest_date"]


class UnusableInput(Exception):
    """The input directory holds nothing that can be read."""


# ---------------------------------------------------------------------------------------------- dumps


def parsed_dump(dump: Dump, year: int | None) -> Parsed:
    """Pick the reader for one dump by sniffing its content and run it; anything unusable is quarantined.

    Never raises on bad input: a file that cannot be decompressed, a reader that fails on it, or a frame that
    does not fit the schema quarantines that file with the reason. The reader's output is made safe and held
    within bounds (finished, below) before it leaves here.
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
        parsed = dataclasses.replace(finished(parsed, dump, fallback), announced=announced)
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


def whole_file_quarantined(
    dump: Dump, reason: str, raw_text: str | None, location: str = "byte 0", source_format: str = "unknown"
) -> Parsed:
    """A dump no reader can use: one quarantine row naming the file."""
    row = quarantine_row(dump, location, reason, raw_text)
    return Parsed(empty(RAW_RECORDS), quarantine_frame([row]), source_format)


def sniffed_reader(readers: tuple[Reader, ...], text: str) -> Reader | None:
    """The first reader that recognises the text; a sniffer that fails on odd input does not claim it."""
    for reader in readers:
        try:
            if reader.sniff(text):
                return reader
        except Exception:  # noqa: BLE001, S112 - a sniffer bug must not hide the file from the other readers
            continue
    return None


# ---------------------------------------------------------------------------------------------- reader output


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
    row = quarantine_row(dump, "whole file", reason, text[:RAW_TEXT_LIMIT] if not accounted else None)
    quarantine = pl.concat([parsed.quarantine, quarantine_frame([row])])
    return dataclasses.replace(parsed, quarantine=quarantine, shortfall=missing)


def finished(parsed: Parsed, dump: Dump, fallback: str | None = None) -> Parsed:
    """A reader's output made fit to leave extraction: exact schemas, safe text, sane bounds, decoding flag.

    Raises (for the caller to quarantine the file) only when a reader's frame cannot be cast to the schema.
    """
    records = sanitized_records(conformed(parsed.records, RAW_RECORDS))
    quarantine = sanitized_quarantine(conformed(parsed.quarantine, QUARANTINE))
    if fallback:
        records = records.with_columns(pl.col("record_flags").list.concat(pl.lit([f"decoded_as_{fallback}"])))
    records, out_of_bounds = bounded_records(records, dump)
    if out_of_bounds:
        quarantine = pl.concat([quarantine, quarantine_frame(out_of_bounds)])
    return dataclasses.replace(parsed, records=records, quarantine=quarantine)


def conformed(frame: pl.DataFrame, schema: pa.Schema) -> pl.DataFrame:
    """The frame with exactly the schema's columns, in order and type (cast strictly if a reader was loose)."""
    target = polars_schema(schema)
    if frame.schema == target:
        return frame
    return frame.select([pl.col(name).cast(dtype, strict=True) for name, dtype in target.items()])


def bounded_records(records: pl.DataFrame, dump: Dump) -> tuple[pl.DataFrame, list[dict]]:
    """Raw records of one dump within sane bounds, and quarantine rows for those that are not.

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
        quarantine_row(
            dump,
            f"line {line}",
            f"title longer than {TITLE_MAX_CHARS:,} characters ({len(title):,}): not a title",
            title,
        )
        for line, title in rejected.select("line", "title_raw").iter_rows()
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


# ---------------------------------------------------------------------------------------------- files


def dump_paths(raw_dir: Path) -> list[Path]:
    """Dump files under raw_dir in a stable order (hidden files and placeholders skipped)."""
    if not raw_dir.is_dir():
        raise UnusableInput(f"raw directory {raw_dir} does not exist")
    return sorted(
        p
        for p in raw_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)
    )
