"""Author lists: each name's TeX, entities and mojibake repaired as in titles; a closing "et al." dropped.

Series in, Series out inside one map_batches (the repairs call Python once per distinct name); whether the
list was truncated is a plain expression.
"""

from __future__ import annotations

import polars as pl

from flows.clean.characters import nfc, tags_removed, trimmed, visible
from flows.clean.rows import applied_where, as_expr, named_like, non_ascii, rows_replaced
from flows.clean.text import repaired, rules_applied

# "et al." closing a list, alone or glued to the last name ("Jay Vakil et al."), with any "(57 additional authors
# not shown)" a reader left in.
_ET_AL = r"(?i)(?:^|[\s,;]+)et(?:\.\s*|\s+)al\.?(?:\s*\([^()]*\))?\s*$"
_AUTHOR_SEPARATOR = "\x1f"


def _author_rules(values: pl.Series) -> pl.Series:
    # The TeX, entity and mojibake repairs of titles, without the title-only rules (colons, final period) and
    # without the half-stripped repairs: a name such as "Xi" or "Tau" is a name, not a lost \xi.
    values = trimmed(repaired(visible(tags_removed(values))))
    return applied_where(values, non_ascii(values), nfc)


def _cleaned_author_lists(authors: pl.Series) -> pl.Series:
    """Lists of names with their TeX converted (once per distinct name) and a closing "et al." dropped."""
    joined = authors.list.join(_AUTHOR_SEPARATOR)
    needing = (
        non_ascii(joined)
        | joined.str.contains(r"[\\${}&<\t\n]|  |(?i)\bet(?:\.\s*|\s+)al\b")
        | joined.str.contains(f"(?:^|{_AUTHOR_SEPARATOR}) |(?: |\\.){_AUTHOR_SEPARATOR}|\\s$")
    ).fill_null(False)
    if not needing.any():
        return authors
    rows = authors.filter(needing)
    flat = pl.DataFrame({"row": pl.int_range(rows.len(), eager=True), "name": rows}).explode("name")
    names = rules_applied(_author_rules, flat["name"], title=False)
    # After the repairs, so that an "et al." hidden behind an entity or a tag goes too.
    names = names.str.replace(_ET_AL, "").str.strip_chars()
    fixed = (
        flat.with_columns(name=names)
        .group_by("row", maintain_order=True)
        .agg(pl.col("name").filter(pl.col("name").is_not_null() & (pl.col("name") != "")))
        .sort("row")
        .get_column("name")
    )
    return rows_replaced(authors, needing, fixed)


def normalized_authors(col: str | pl.Expr) -> pl.Expr:
    r"""Author names cleaned like titles (TeX, entities, mojibake, whitespace); "et al." is not an author.

    Example: ['Erwin Schr\"odinger', '{\L}ukasz Kaiser', 'et al.'] -> ['Erwin Schrödinger', 'Łukasz Kaiser']
    """
    return named_like(as_expr(col).map_batches(_cleaned_author_lists, return_dtype=pl.List(pl.String)), col)


def authors_truncated(col: str | pl.Expr) -> pl.Expr:
    """True where the raw author list ends with "et al." (alone or glued to the last name)."""
    return as_expr(col).list.last().str.contains(_ET_AL).fill_null(False)
