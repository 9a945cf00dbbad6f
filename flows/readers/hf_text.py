"""Reader for the Hugging Face papers page copied as text (FORMATS §1): header, then title / abstract pairs.

Titles and abstracts are told apart by content, not position, so a missing abstract never shifts later records.
"""

from __future__ import annotations

import polars as pl

from flows.readers.base import (
    MONTH_DAY,
    MONTHS,
    Dump,
    Parsed,
    dump_cut_short,
    polars_schema,
    quarantine_frame,
    resolved_digest_date,
)
from schemas.tables import RAW_RECORDS

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
    # A sentence end, optionally followed by a closing quote/bracket or a trailing "(note)".
    ends_sentence = text.str.contains(r"[.!?][\"')\]]?(\s*\([^()]*\))?\s*$")
    sentences = text.str.count_matches(r"[.!?]\s+[\p{Lu}(]")
    # The seed's longest title has 16 words; titles past ~28 words do not occur in practice.
    return (n_chars > 320) | (n_words > 28) | (ends_sentence & (n_words >= 15)) | ((sentences >= 2) & (n_words >= 12))


class HfPapersText:
    """Hugging Face papers page copied as text: header, then title / blank / abstract / blank records.

    >>> # "Mar 13\\n\\nA Title\\n\\nAn abstract ..." -> one record, digest date from the header's "Mar 13"
    """

    name = "hf_papers_text"

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
            pl.lit(None, dtype=pl.Int32).alias("arxiv_version"),
            pl.lit(None, dtype=pl.String).alias("comments"),
            pl.lit(None, dtype=pl.String).alias("journal_ref"),
            pl.lit(None, dtype=pl.String).alias("doi"),
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
            if m := MONTH_DAY.match(line):
                year = int(m["year"]) if m["year"] else None
                return i + 1, (MONTHS[m["mon"].lower()[:3]], int(m["day"]), year)
        n = 0
        while n < len(head) and head[n].lower() in HF_HEADER_LINES:
            n += 1
        return n, (None, None, None)



