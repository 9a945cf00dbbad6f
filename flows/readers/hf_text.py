"""Reader for the Hugging Face papers page copied as text (FORMATS §1): header, then title / abstract pairs.

Titles and abstracts are told apart by content, not position, so a missing abstract never shifts later records.
"""

from __future__ import annotations

import itertools
import re

import polars as pl

from flows.readers.base import Dump, Parsed, dump_cut_short, quarantine_frame
from flows.readers.vocabulary import MONTH_DAY, month_day, provenance, quarantine_row, resolved_digest_date
from schemas.tables import RAW_RECORDS, polars_schema

# Header lines of the English page; a translated header is recognised by its date line instead.
HF_HEADER_LINES = frozenset(
    {"new", "get trending papers in your email inbox!", "subscribe", "byak and the research community"}
)
# How many non-blank lines the page header can span before the first title.
HF_HEADER_SPAN = 8
_SCHEMA = polars_schema(RAW_RECORDS)
# The header's date line ("Mar 13", "March 13, 2025") as a Rust pattern for Polars, and its longest length.
_MONTH_DAY_RUST = "(?i)" + MONTH_DAY.pattern
_DATE_LINE_CHARS = 24


# The census's pattern (HfPapersText.census): a line of the page header or its date line, stripped; such lines
# are short. [^\S\n] is a space within the line (NBSP included).
_HEADER_LINE = re.compile(
    r"(?:"
    + "|".join(r"[^\S\n]+".join(map(re.escape, line.split())) for line in sorted(HF_HEADER_LINES))
    + r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[^\S\n]+\d{1,2}(?:,?[^\S\n]+\d{4})?"
    + r")$",
    re.IGNORECASE,
)
_HEADER_LINE_CHARS = 48
# Past this many characters a line is an abstract whatever it says; the word and sentence patterns below run
# only on shorter lines (titles and short abstracts), which keeps them off ~90 % of a dump's bytes.
_LONG_LINE = 320


def abstract_like(text: pl.Expr) -> pl.Expr:
    """True where a line reads as an abstract rather than a title (decided by content, not position).

    Titles are short and rarely end with a full stop; abstracts are sentences. A short one-sentence abstract
    still ends with terminal punctuation after at least ~15 words.
    """
    long = text.str.len_chars() > _LONG_LINE
    short = pl.when(~long).then(text)  # null on long lines: the patterns skip them
    # One struct, so that each scan runs once though the rule below reads the word count three times.
    scans = pl.struct(
        long=long,
        n_words=short.str.count_matches(r"\S+"),
        # A sentence end, optionally followed by a closing quote/bracket or a trailing "(note)".
        ends_sentence=short.str.contains(r"[.!?][\"')\]]?(\s*\([^()]*\))?\s*$"),
        sentences=short.str.count_matches(r"[.!?]\s+[\p{Lu}(]"),
    )
    n_words, ends_sentence, sentences = pl.field("n_words"), pl.field("ends_sentence"), pl.field("sentences")
    # The seed's longest title has 16 words; titles past ~28 words do not occur in practice.
    is_abstract = pl.field("long") | (
        (n_words > 28) | (ends_sentence & (n_words >= 15)) | ((sentences >= 2) & (n_words >= 12))
    ).fill_null(False)
    return scans.struct.with_fields(is_abstract.alias("is_abstract")).struct.field("is_abstract")


def titles_by_layout(is_abstract: pl.Expr, at_start: pl.Expr) -> pl.Expr:
    """True for the lines that are titles, where content alone would call some of them abstracts.

    A regular dump alternates title and abstract. Within a run of consecutive abstract-like lines, that
    alternation decides: after a title, the run's 1st line is its abstract, the 2nd the next title (a long
    title ending in "?" reads like a sentence), the 3rd that title's abstract, and so on; a run at the start
    of the body begins with a title. A title slot with no line left after it in the run is not a title:
    there the layout is broken and the line stays an abstract that cannot be paired (quarantined).
    """
    # Each line's place j in its run and the run's length k, from where the run starts and ends (forward/backward
    # fills: linear, where a window over ~10,000 runs of one line each was most of the reader's time).
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    starts = (is_abstract != is_abstract.shift(1, fill_value=False)) | (row == 0)
    start = pl.when(starts).then(row).forward_fill()
    end = pl.when(starts.shift(-1, fill_value=True)).then(row).backward_fill()
    j, k = row - start, end - start + 1
    offset = pl.when(at_start.gather(start)).then(0).otherwise(1)  # at_start as it is on the run's first line
    title_slot = ((j + offset) % 2 == 0) & (j + 1 < k)
    return ~is_abstract | title_slot


class HfPapersText:
    """Hugging Face papers page copied as text: header, then title / blank / abstract / blank records.

    >>> # "Mar 13\\n\\nA Title\\n\\nAn abstract ..." -> one record, digest date from the header's "Mar 13"
    """

    name = "hf_papers_text"
    rank = 3  # a page copied as text: no ids, no authors
    announces = "title/abstract pairs"

    def census(self, text: str) -> int:
        """Title/abstract pairs: half the non-blank lines from the first paper on, the page's header lines aside.

        Counted on the raw lines, without the parser's title/abstract decision. A lower bound: every body line
        is a title (one record), the one abstract of a record, or a quarantined line, so records + quarantine
        rows are at least half the body's lines. The body starts at the line before the first line too long
        to be anything but an abstract (its title); before that, only header lines are left out. A plain loop
        over the lines: a multi-line regex would be tried at every character (several times slower).
        """
        lines = text.split("\n")
        first_long = next((i for i, line in enumerate(lines) if len(line) > _LONG_LINE), 0)
        start = next((i for i in range(first_long - 1, -1, -1) if lines[i].strip()), first_long)
        body = 0
        for line in itertools.islice(lines, start, None):
            # Header lines are short: only short lines are stripped and matched.
            if len(line) > _HEADER_LINE_CHARS or ((probe := line.strip()) and not _HEADER_LINE.match(probe)):
                body += 1
        return (body + 1) // 2

    def sniff(self, text: str) -> bool:
        lines = [ln.strip().replace("\xa0", " ") for ln in text[:20000].split("\n") if ln.strip()]
        head = lines[:HF_HEADER_SPAN]
        if any(ln.lower() in HF_HEADER_LINES for ln in head) or any(MONTH_DAY.match(ln) for ln in head):
            return True
        # No header at all: plain text made of short lines followed by long ones.
        frame = pl.DataFrame({"text": lines[:40]})
        if frame.is_empty():
            return False
        is_abs = frame.select(abstract_like(pl.col("text"))).to_series()
        return bool(is_abs.any()) and bool((~is_abs).any()) and not text.lstrip().startswith(("<", "{", "["))

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        lines = pl.DataFrame({"text": text.split("\n")}).with_row_index("line", offset=1)
        # NBSP is rare: replacing it costs a pass over every byte, so only files that hold one pay for it.
        nbsp = "\xa0" in text
        probe = pl.col("text").str.replace_all("\xa0", " ", literal=True) if nbsp else pl.col("text")
        lines = lines.with_columns(pl.col("line").cast(pl.Int32), probe.str.strip_chars().alias("probe")).filter(
            pl.col("probe") != ""
        )
        # The date line may stand below papers copied above it: found wherever it is, as a line of its own.
        probe = lines["probe"]
        date_at = (probe.str.len_chars() <= _DATE_LINE_CHARS) & probe.str.contains(_MONTH_DAY_RUST)
        top = (date_at.arg_true().first() or 0) + 1 if date_at.any() else HF_HEADER_SPAN
        header, (month, day, year_in_dump) = self._header(probe.head(max(top, HF_HEADER_SPAN)).to_list())
        truncated = dump_cut_short(text)
        # Header lines go; anything else near the top (a paper copied above the date line) is body.
        body = lines.filter(~pl.int_range(pl.len()).is_in(header)).with_columns(
            abstract_like(pl.col("probe")).alias("is_abstract")
        )
        if truncated:
            # A dump cut mid-abstract leaves a short final line after a title: it is that title's abstract.
            last = pl.int_range(pl.len()) == pl.len() - 1
            body = body.with_columns(
                pl.when(last & ~pl.col("is_abstract").shift(1, fill_value=True))
                .then(pl.lit(True))
                .otherwise(pl.col("is_abstract"))
                .alias("is_abstract")
            )
        body = body.with_columns(pl.int_range(pl.len()).alias("row")).with_columns(
            (~titles_by_layout(pl.col("is_abstract"), pl.col("row") == 0)).alias("is_abstract")
        ).with_columns((~pl.col("is_abstract")).cum_sum().cast(pl.Int32).alias("record"))
        place = provenance(dump, self.name, resolved_digest_date(month, day, year_in_dump, dump, year))

        abstracts = body.filter(pl.col("is_abstract"))
        paired = pl.col("record").is_first_distinct() & (pl.col("record") > 0)
        orphans = abstracts.filter(pl.col("record") == 0)
        # A title followed by two abstract-like lines: the second cannot be paired and must not shift the rest.
        extras = abstracts.filter(~paired & (pl.col("record") > 0))
        last_record = body["record"].max() or 0
        # Without NBSP the probe is the stripped line already (strip_chars strips NBSP too): no second pass.
        raw = pl.col("text").str.strip_chars() if nbsp else pl.col("probe")
        records = (
            body.filter(~pl.col("is_abstract"))
            .select("record", "line", raw.alias("title_raw"))
            .join(
                abstracts.filter(paired).select("record", raw.alias("abstract_raw")),
                on="record",
                how="left",
                maintain_order="left",
            )
        )
        records = records.with_columns(
            pl.col("record").alias("position"),
            pl.concat_list(
                pl.when(pl.col("abstract_raw").is_null()).then(pl.lit("abstract_missing")),
                pl.when(pl.lit(truncated) & (pl.col("record") == last_record)).then(pl.lit("truncated")),
            )
            .list.drop_nulls()
            .alias("record_flags"),
            *[pl.lit(value, dtype=_SCHEMA[name]).alias(name) for name, value in place.items()],
            pl.lit(None, dtype=pl.String).alias("section"),
            pl.lit(None, dtype=pl.String).alias("arxiv_id"),
            pl.lit(None, dtype=pl.Int32).alias("arxiv_version"),
            pl.lit(None, dtype=pl.String).alias("comments"),
            pl.lit(None, dtype=pl.String).alias("journal_ref"),
            pl.lit(None, dtype=pl.String).alias("doi"),
            pl.lit([], dtype=pl.List(pl.String)).alias("authors"),
            pl.lit([], dtype=pl.List(pl.String)).alias("categories"),
            pl.lit(None, dtype=_SCHEMA["published_at"]).alias("published_at"),
            pl.lit([], dtype=_SCHEMA["source_links"]).alias("source_links"),
        )
        problems = [
            {"line": ln, "text": tx, "reason": "abstract-like line with no title before it"}
            for ln, tx in zip(orphans["line"], orphans["text"])
        ] + [
            {"line": ln, "text": tx, "reason": "second abstract-like line after one title (cannot be paired)"}
            for ln, tx in zip(extras["line"], extras["text"])
        ]
        problems.sort(key=lambda p: p["line"])
        quarantine = quarantine_frame(
            [quarantine_row(dump, f"line {p['line']}", p["reason"], p["text"]) for p in problems]
        )
        return Parsed(records.select(RAW_RECORDS.names), quarantine, self.name)

    @staticmethod
    def _header(head: list[str]) -> tuple[list[int], tuple[int | None, int | None, int | None]]:
        """Indexes of the page-header lines among the first lines, and the header's (month, day, year) if any.

        Lines above the date line are header (in any language) up to the first title followed by an abstract:
        a paper copied above the date line is kept, not taken for header; the English header lines are header
        wherever they stand above the date line.

        >>> HfPapersText._header(["new", "Mar 13", "A Title"])  # ([0, 1], (3, 13, None))
        """
        for i, line in enumerate(head):
            if (date := month_day(line)) is not None:
                above = head[:i]
                is_abstract = pl.select(abstract_like(pl.lit(pl.Series(above + [""], dtype=pl.String)))).to_series()
                papers_from = next(
                    (j for j in range(len(above)) if not is_abstract[j] and is_abstract[j + 1]), len(above)
                )
                # The page's own header lines stay header when papers were copied above them.
                furniture = [j for j in range(papers_from, i) if above[j].lower() in HF_HEADER_LINES]
                return [*range(papers_from), *furniture, i], date
        n = 0
        while n < len(head) and head[n].lower() in HF_HEADER_LINES:
            n += 1
        return list(range(n)), (None, None, None)
