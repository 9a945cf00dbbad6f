"""Row-selective Series work: a rule or a slow pattern run only on the rows a fast scan selects.

Every Polars string op writes a whole new column, even where nothing matches (~1 s per GB); picking the rows
with a fast scan first and writing back only those is what keeps 1M abstracts within seconds. Nothing here knows
a rule.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl


def as_expr(col: str | pl.Expr) -> pl.Expr:
    return pl.col(col) if isinstance(col, str) else col


def named_like(result: pl.Expr, col: str | pl.Expr) -> pl.Expr:
    """result under the input's name (a struct field would otherwise name it), when that name is known."""
    name = as_expr(col).meta.output_name(raise_if_undetermined=False)
    return result.alias(name) if name else result


def non_ascii(values: pl.Series) -> pl.Series:
    # A byte count above the character count is a length check, much cheaper than any regex scan.
    return values.str.len_bytes() != values.str.len_chars()


def applied_where(
    values: pl.Series, rows: pl.Series, transform: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """values with transform applied to the selected rows only, the others left as they are."""
    rows = rows.fill_null(False)
    if not rows.any():
        return values
    where = rows.arg_true()
    # scatter writes in place: clone so the caller's series is left as it was
    return values.clone().scatter(where, transform(values.gather(where)))


def contains_where(values: pl.Series, rows: pl.Series, pattern: str) -> pl.Series:
    """values.str.contains(pattern), tested on the given rows only (false elsewhere)."""
    found = rows.fill_null(False)
    where = found.arg_true()
    return found.scatter(where, values.gather(where).str.contains(pattern))


def rows_replaced(values: pl.Series, rows: pl.Series, replacement: pl.Series) -> pl.Series:
    """values with the selected rows replaced, in order, by replacement (for the list types scatter lacks)."""
    n = values.len()
    place = pl.select(pl.when(pl.lit(rows)).then(pl.lit(rows).cum_sum() - 1 + n).otherwise(pl.int_range(n)))
    return pl.concat([values, replacement]).gather(place.to_series())
