"""flows/parallel.py: the per-value runner that cleaning and language detection share."""

from __future__ import annotations

import threading

import polars as pl
import pytest
from polars.testing import assert_series_equal

from flows.parallel import each_remembered, per_distinct_value, prefetched


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


def test_prefetched_gives_the_items_in_order_computed_ahead_in_another_thread():
    made_in, asked = [], []

    def items():
        for i in range(5):
            made_in.append((i, threading.current_thread().name, len(asked)))
            yield i * i

    for value in prefetched(items(), ahead=1):
        asked.append(value)
    assert asked == [0, 1, 4, 9, 16]
    assert {name for _, name, _ in made_in} == {"prefetch"}
    # Item i+1 was computed before the consumer had finished with item i-1 at the latest: never more ahead.
    assert all(seen >= i - 2 for i, _, seen in made_in)


def test_prefetched_raises_the_producers_error_at_its_item_and_stops_with_the_consumer():
    def failing():
        yield 1
        raise ValueError("row group 2 unreadable")

    got = []
    with pytest.raises(ValueError, match="row group 2 unreadable"):
        for value in prefetched(failing()):
            got.append(value)
    assert got == [1]

    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    for value in prefetched(endless(), ahead=2):
        if value == 3:
            break
    before = len(produced)
    assert before <= 3 + 1 + 2 + 1  # what was asked, the slots ahead, and the one being computed
    assert not any(t.name == "prefetch" for t in threading.enumerate())
