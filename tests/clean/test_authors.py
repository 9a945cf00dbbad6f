"""flows/clean/authors.py: real spellings of names with TeX, "et al.", and idempotence."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.clean import clean_records, normalized_authors

from .cases import raw_records, texts


def authors(lists: list[list[str] | None]) -> list[list[str] | None]:
    frame = pl.DataFrame({"a": lists}, schema={"a": pl.List(pl.String)})
    return frame.select(normalized_authors("a")).to_series().to_list()


# Every spelling below is from a real arXiv listing (tests/fixtures/real/arxiv_listing/README.md).
AUTHOR_NAMES = [
    ([r"Nata\v{s}a Petrovi\'c", r"Gabriel Moy\`a-Alcover"], ["Nataša Petrović", "Gabriel Moyà-Alcover"]),
    ([r"{\L}ukasz Flis", r"Adrian Gwo\'zdziej"], ["Łukasz Flis", "Adrian Gwoździej"]),
    ([r"Gon\c{c}alo Marcelino", r"I\~naki Arango"], ["Gonçalo Marcelino", "Iñaki Arango"]),
    ([r"Oliver Sch\"on", r"Arinbj\"orn Kolbeinsson"], ["Oliver Schön", "Arinbjörn Kolbeinsson"]),
    ([r"Paul Erd\H{o}s", r"Eduard \v{C}ech", r"Fran\c{c}ois Fleuret"], ["Paul Erdős", "Eduard Čech", "François Fleuret"]),
    (["Amine Benhalloum", "et al."], ["Amine Benhalloum"]),
    (["Jay Vakil et al."], ["Jay Vakil"]),
    (["R. Aaij", "et al. (909 additional authors not shown)"], ["R. Aaij"]),
    (["Etalon Person", "Al Etal"], ["Etalon Person", "Al Etal"]),
    (["Plain Name", "  Spaced  Name "], ["Plain Name", "Spaced Name"]),
    ([], []),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), AUTHOR_NAMES)
def test_author_names_get_the_title_tex_conversion(raw, expected):
    assert authors([raw]) == [expected]


def test_a_truncated_author_list_is_flagged():
    raw = raw_records(["A", "B"], [None, None], authors=[["R. Aaij", "et al."], ["Robert A. Wilson"]])
    got = clean_records(raw.lazy()).collect()
    assert got["authors"].to_list() == [["R. Aaij"], ["Robert A. Wilson"]]
    assert ["authors_truncated" in f for f in got["flags"].to_list()] == [True, False]


def test_real_listing_authors_lose_their_tex(real_listing):
    raw_names = real_listing["authors"].explode().drop_nulls()
    cleaned = clean_records(real_listing.lazy()).collect()["authors"].explode().drop_nulls()
    assert raw_names.str.contains(r"\\").sum() >= 8  # measured on the fixture: 11 names carry TeX
    assert cleaned.str.contains(r"[\\{}]").sum() == 0
    assert "et al." not in cleaned.to_list()
    assert {"Nataša Petrović", "Łukasz Flis", "Gonçalo Marcelino", "Joaquín Polonuer"} <= set(cleaned)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(texts, max_size=4), min_size=1, max_size=6))
def test_author_cleaning_is_idempotent(lists):
    once = authors(lists)
    assert authors(once) == once
