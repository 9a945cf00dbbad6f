"""Fixtures for the tests of flows/clean/: a real arXiv listing, the real seed, the seed cleaned."""

from __future__ import annotations

import polars as pl
import pytest

from flows.clean import clean_records

from .cases import REAL_LISTING, raw_records, seed_records


@pytest.fixture(scope="module")
def real_listing() -> pl.DataFrame:
    from flows.extract import parsed_dump
    from flows.readers.base import Dump

    return parsed_dump(Dump.load(REAL_LISTING, REAL_LISTING.parent), None).records


@pytest.fixture(scope="module")
def seed() -> pl.DataFrame:
    records = seed_records()
    return pl.DataFrame({"title_raw": [t for t, _ in records], "abstract_raw": [a for _, a in records]})


@pytest.fixture(scope="module")
def seed_clean(seed) -> pl.DataFrame:
    raw = raw_records(seed["title_raw"].to_list(), seed["abstract_raw"].to_list())
    return clean_records(raw.lazy()).collect()
