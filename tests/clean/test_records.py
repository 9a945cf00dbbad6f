"""flows/clean/records.py: clean_records on literal frames, a real listing and the real seed."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flows import clean
from flows.clean import clean_records, normalized_abstract, normalized_title
from schemas.tables import RAW_RECORDS

from .cases import raw_records, texts


def test_clean_records_adds_the_cleaned_columns():
    raw = raw_records(
        ["ARTcdotV: Auto-Regressive Video.", r"$\alpha$-Net", "Trailing backslash\\"],
        ["Code at researchhttps://github.com/a/b. and \\eg, 10% more", None, "CafÃ© text"],
        source_links=[
            [{"url": "https://github.com/a/b", "kind": "code"}],
            None,
            [{"url": "x", "kind": "code"}],
        ],
        record_flags=[[], ["abstract_missing"], None],
    )
    got = clean_records(raw.lazy()).collect()
    assert got.columns == [*RAW_RECORDS.names, "title", "abstract", "authors_raw", "urls", "title_key", "flags"]
    expected = pl.DataFrame(
        {
            "title": ["ART·V: Auto-Regressive Video", "α-Net", "Trailing backslash\\"],
            "abstract": ["Code at research https://github.com/a/b. and e.g., 10% more", None, "Café text"],
            "title_key": ["art v auto regressive video", "α net", "trailing backslash"],
            "flags": [
                ["stripped_latex_repaired"],
                ["abstract_missing"],
                ["latex_residue_title", "mojibake_repaired"],
            ],
            "urls": [
                [
                    {
                        "url_raw": "https://github.com/a/b",
                        "url": "https://github.com/a/b",
                        "kind": "code",
                        "host": "github.com",
                    }
                ],
                [],
                [],
            ],
        },
        schema={
            "title": pl.String,
            "abstract": pl.String,
            "title_key": pl.String,
            "flags": pl.List(pl.String),
            "urls": pl.List(clean.LINK),
        },
    )
    assert_frame_equal(got.select(expected.columns), expected)
    assert_frame_equal(got.select(RAW_RECORDS.names), raw)


def test_real_listing_abstracts_keep_no_tex(real_listing):
    cleaned = clean_records(real_listing.lazy()).collect()
    assert cleaned["abstract"].str.contains(r"\\[A-Za-z]|\$[^0-9 ]").sum() == 0
    assert not any("latex_residue_abstract" in f for f in cleaned["flags"].to_list())


def test_seed_titles_have_no_latex_left(seed_clean):
    assert seed_clean.height == 112
    cleaned = seed_clean["title"].to_list()
    assert not [t for t in cleaned if "cdot" in t or "$" in t or "\\" in t]
    assert "ART·V: Auto-Regressive Text-to-Video Generation with Diffusion Models" in cleaned
    assert seed_clean["flags"].list.len().sum() == 1  # only ARTcdotV gets a flag


def test_seed_abstracts_are_never_cut(seed_clean):
    # A bare % read as a TeX comment would cut the rest of the abstract away.
    ratio = seed_clean.select(pl.col("abstract").str.len_chars() / pl.col("abstract_raw").str.len_chars())
    assert ratio.to_series().min() >= 0.95
    assert any("10% higher visual quality. Finally" in a for a in seed_clean["abstract"])


def test_seed_urls_all_come_out_canonical(seed, seed_clean):
    found = [(i, m) for i, a in enumerate(seed["abstract_raw"]) for m in re.findall(r"https?://[^ ]*", a)]
    assert len(found) == 35
    links = (
        seed_clean.with_row_index("i").select("i", "urls").explode("urls").unnest("urls").drop_nulls("url")
    )
    assert links.height == 35
    assert links.select("i", "url").n_unique() == 35
    assert links["i"].to_list() == [i for i, _ in found]
    assert not links.filter(pl.col("url").str.contains(r"[.,;:)\"'{}]$|\{")).height
    got = dict(zip(links["url_raw"], links["url"], strict=True))
    assert got['http://mmlab.ie.cuhk.edu.hk/projects/CMP/".'] == "http://mmlab.ie.cuhk.edu.hk/projects/CMP/"
    assert got["https://github.com/InternLM/OREAL."] == "https://github.com/InternLM/OREAL"
    assert links.group_by("kind").len().sort("kind").rows() == [("code", 11), ("project", 22), ("video", 2)]


def test_seed_glued_url_gets_its_space_back(seed_clean):
    assert any("future research https://github.com/InternLM/OREAL." in a for a in seed_clean["abstract"])


def test_seed_cleaning_is_idempotent(seed_clean):
    again = seed_clean.select(
        normalized_title("title").alias("title"), normalized_abstract("abstract").alias("abstract")
    )
    assert_frame_equal(again, seed_clean.select("title", "abstract"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(texts, st.one_of(st.none(), texts)), max_size=6))
def test_clean_records_keeps_every_row(pairs):
    raw = raw_records([t for t, _ in pairs], [a for _, a in pairs])
    got = clean_records(raw.lazy()).collect()
    assert got.height == raw.height
    assert_frame_equal(got.select(RAW_RECORDS.names), raw)
