"""Cleaned records: RAW_RECORDS rows with their cleaned columns, title key, links and flags added.

Only wiring: each column's rule lives in its own module (text, authors, urls, flags).
"""

from __future__ import annotations

import polars as pl

from flows.clean.authors import authors_truncated, normalized_authors
from flows.clean.flags import flags
from flows.clean.text import normalized_abstract, normalized_title, title_key
from flows.clean.urls import record_urls


def clean_records(raw: pl.LazyFrame) -> pl.LazyFrame:
    """RAW_RECORDS rows with title, abstract, title_key, urls and flags added; no row added or dropped."""
    # title_key and flags read the cleaned columns, hence a second (cheap) with_columns: Polars does not share
    # the (Python) repair step between expressions, so recomputing it inside one with_columns would double it.
    cleaned = raw.with_columns(
        title=normalized_title("title_raw"),
        abstract=normalized_abstract("abstract_raw"),
        authors=normalized_authors("authors"),
        authors_raw=pl.col("authors"),
        authors_truncated=authors_truncated("authors"),
        urls=record_urls(),
    )
    return cleaned.with_columns(title_key=title_key("title"), flags=flags()).drop("authors_truncated")
