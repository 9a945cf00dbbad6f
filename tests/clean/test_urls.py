"""flows/clean/urls.py: URLs found in text, made canonical and classified."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from flows.clean import canonical_url, clean_records, extracted_urls, url_host, url_kind

from .cases import raw_records, texts

URLS = [
    ("https://lhchen.top/Human-MAC.", "https://lhchen.top/Human-MAC", "project"),
    (
        "https://anonymous0x233.github.io/ReuseAndDiffuse/{here}.",
        "https://anonymous0x233.github.io/ReuseAndDiffuse/",
        "project",
    ),
    ('"http://mmlab.ie.cuhk.edu.hk/projects/CMP/".', "http://mmlab.ie.cuhk.edu.hk/projects/CMP/", "project"),
    ("future researchhttps://github.com/InternLM/OREAL.", "https://github.com/InternLM/OREAL", "code"),
    ("https://youtu.be/gCuUyGETbTU (part 1)", "https://youtu.be/gCuUyGETbTU", "video"),
    ("(see https://github.com/a/b).", "https://github.com/a/b", "code"),
    ("https://en.wikipedia.org/wiki/Foo_(bar)).", "https://en.wikipedia.org/wiki/Foo_(bar)", "other"),
    ("HTTPS://GitHub.COM/Owner/Repo,", "https://github.com/Owner/Repo", "code"),
    (r"\url{https://github.com/a/b\_c}", "https://github.com/a/b_c", "code"),
    ("'https://sites.google.com/view/myodex';", "https://sites.google.com/view/myodex", "project"),
    ("https://huggingface.co/datasets/org/set?", "https://huggingface.co/datasets/org/set", "dataset"),
    ("https://huggingface.co/spaces/org/demo", "https://huggingface.co/spaces/org/demo", "project"),
    ("https://huggingface.co/org/model", "https://huggingface.co/org/model", "other"),
    ("https://www.kaggle.com/datasets/a/b", "https://www.kaggle.com/datasets/a/b", "dataset"),
    ("https://zenodo.org/records/1", "https://zenodo.org/records/1", "dataset"),
    ("https://arxiv.org/abs/2411.18673v2.", "https://arxiv.org/abs/2411.18673v2", "paper"),
    ("https://doi.org/10.1000/xyz", "https://doi.org/10.1000/xyz", "paper"),
    ("https://openreview.net/forum?id=abc", "https://openreview.net/forum?id=abc", "paper"),
    ("https://example.com/paper.pdf", "https://example.com/paper.pdf", "paper"),
    ("https://www.youtube.com/watch?v=XsaGI01b-1o", "https://www.youtube.com/watch?v=XsaGI01b-1o", "video"),
    ("https://gitlab.com/a/b", "https://gitlab.com/a/b", "code"),
    ("https://phyworld.github.io", "https://phyworld.github.io", "project"),
    ("https://example.com", "https://example.com", "other"),
]


@pytest.mark.parametrize(("raw", "url", "kind"), URLS)
def test_extracted_urls(raw, url, kind):
    frame = (
        pl.DataFrame({"text": [raw]})
        .select(extracted_urls("text").alias("urls"))
        .explode("urls")
        .unnest("urls")
    )
    assert frame.select("url", "kind").rows() == [(url, kind)]


def test_extracted_urls_keep_order_raw_form_and_one_per_url():
    text = (
        "Code: https://github.com/a/b. Video: https://youtu.be/x (part 1) and again https://github.com/a/b)"
    )
    got = pl.DataFrame({"t": [text, None, "no links here"]}).select(extracted_urls("t")).to_series().to_list()
    assert got == [
        [
            {
                "url_raw": "https://github.com/a/b.",
                "url": "https://github.com/a/b",
                "kind": "code",
                "host": "github.com",
            },
            {
                "url_raw": "https://youtu.be/x",
                "url": "https://youtu.be/x",
                "kind": "video",
                "host": "youtu.be",
            },
        ],
        None,
        [],
    ]


CANONICAL = [
    ("  https://github.com/owner/repo  ", "https://github.com/owner/repo"),
    ("https://x.io/a?b=1#", "https://x.io/a?b=1"),
    ("https://x.io/a_(b)c).", "https://x.io/a_(b)c"),
    ("https://", None),
    ("not a url", None),
    ("ftp://x.io/file", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_url(raw, expected):
    assert pl.DataFrame({"u": [raw]}, schema={"u": pl.String}).select(canonical_url("u")).item() == expected


@pytest.mark.parametrize(
    ("url", "host"),
    [("https://WWW.Example.com:8080/a", "www.example.com"), ("http://user@x.io/", "x.io"), (None, None)],
)
def test_url_host(url, host):
    assert pl.DataFrame({"u": [url]}, schema={"u": pl.String}).select(url_host("u")).item() == host


def test_url_kind_of_null_is_null():
    assert pl.DataFrame({"u": [None]}, schema={"u": pl.String}).select(url_kind("u")).item() is None


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8))
def test_canonical_url_is_idempotent(values):
    frame = pl.DataFrame({"u": [f"https://x.io/{v}" for v in values]})
    once = frame.select(canonical_url("u"))
    assert_series_equal(once.select(canonical_url("u")).to_series(), once.to_series())


def test_clean_records_keeps_a_kind_given_by_the_source():
    raw = raw_records(
        ["T"],
        ["see https://github.com/o/site"],
        source_links=[[{"url": "https://github.com/o/site/", "kind": "project"}]],
    )
    urls = clean_records(raw.lazy()).collect()["urls"].to_list()[0]
    assert [(u["url"], u["kind"]) for u in urls] == [
        ("https://github.com/o/site/", "project"),
        ("https://github.com/o/site", "code"),
    ]
