"""flows/parallel.py: the per-value runner that cleaning and language detection share."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_series_equal

from flows.parallel import each_remembered, per_distinct_value


def test_per_distinct_value_converts_each_distinct_selected_value_once():
    seen: list[list[str]] = []

    def upper(values: pl.Series) -> pl.Series:
        seen.append(values.to_list())
        return values.str.to_uppercase()

    values = pl.Series("t", ["b", "a", None, "b", "c"])
    got = per_distinct_value(values, upper, rows=pl.Series([True, True, True, True, False]))
    assert_series_equal(got, pl.Series("t", ["B", "A", None, "B", "c"]))
    assert seen == [["a", "b"]]  # sorted, null and unselected values left out


def test_per_distinct_value_keeps_the_values_when_none_is_selected():
    values = pl.Series("t", ["a", None])
    assert per_distinct_value(values, lambda _: 1 / 0, rows=pl.Series([False, False])) is values


def test_a_converter_result_may_be_null():
    values = pl.Series("t", ["keep", "drop", "drop"])
    got = per_distinct_value(values, lambda v: v.replace("drop", None))
    assert got.to_list() == ["keep", None, None]


def test_each_remembered_runs_a_converter_once_per_value_across_calls():
    calls: list[str] = []

    def shout(text: str) -> str:
        calls.append(text)
        return text.upper() + "!"

    convert = each_remembered(shout)
    assert convert(pl.Series(["a", "b"])).to_list() == ["A!", "B!"]
    assert convert(pl.Series(["b", "c"])).to_list() == ["B!", "C!"]
    assert calls == ["a", "b", "c"]
