"""flows/clean/characters.py: the mojibake gate."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_series_equal

from flows.clean.characters import MOJIBAKE, may_be_mojibake
from flows.clean.rows import contains_where


def test_the_mojibake_gate_lets_every_match_through():
    # MOJIBAKE runs only on rows holding a U+00C0..U+00FF character (one byte search): every character that can
    # open a match, before every character that can continue one, must be let through.
    openers = [chr(c) for c in range(0x80, 0x500)]
    followers = ["\u0080", "\u00a9", "\u00bf", "\u0152", "\u2013", "\u201e", "\u20ac", "\u2122", "x", "é"]
    values = pl.Series([f"a{o}{f}b" for o in openers for f in followers] + [None, ""], dtype=pl.String)
    gated = contains_where(values, may_be_mojibake(values), MOJIBAKE)
    assert_series_equal(gated, values.str.contains(MOJIBAKE).fill_null(False), check_names=False)
    assert gated.sum() == 46 * 8  # Â..ï, each before the eight continuation characters above
