"""flows/clean/flags.py: what cleaning flags, and that every flag is documented."""

from __future__ import annotations

import pytest

from flows.clean import FLAG_MEANINGS, clean_records

from .cases import raw_records


def test_only_half_stripped_titles_are_flagged_as_repaired():
    # The first title is real (arXiv hep-ex RSS, tests/fixtures/real/feeds): intact LaTeX, not a half-stripped one.
    raw = raw_records(
        [r"Observation of excited $\Omega_c^0$ baryons", "ARTcdotV: A Model", r"$\alpha$-Net and Model^2"],
        [None, None, None],
    )
    flags = clean_records(raw.lazy()).collect()["flags"].to_list()
    assert ["stripped_latex_repaired" in f for f in flags] == [False, True, True]


def test_a_title_left_with_residue_is_flagged():
    raw = raw_records(["Unknown^{x y} and mathop{Z} left", "Intact Title"], [None, None])
    flags = clean_records(raw.lazy()).collect()["flags"].to_list()
    assert "latex_residue_title" in flags[0] and "latex_residue_title" not in flags[1]


def test_abstract_tex_residue_is_flagged_and_prices_are_not():
    raw = raw_records(
        ["A", "B", "C"],
        ["a group x^{ab} left as it is", "costs $5M and ($40) total", r"fine $\alpha$ text"],
    )
    flags = clean_records(raw.lazy()).collect()["flags"].to_list()
    assert ["latex_residue_abstract" in f for f in flags] == [True, False, False]


def test_every_flag_is_documented():
    raw = raw_records(
        ["", r"\unfinished $x", "<b>Bold</b> claim <script>", "CafÃƒÂ© twice broken"],
        [None, r"\foo{x} and $a$", None, "Â"],
    )
    flags = clean_records(raw.lazy()).collect()["flags"].explode().drop_nulls().unique().to_list()
    assert set(flags) <= set(FLAG_MEANINGS)
    assert {"title_empty", "abstract_missing", "html_residue"} <= set(flags)


@pytest.mark.parametrize(
    ("title_raw", "title", "flagged"),
    [
        ("A <div>Title</div> Here", "A Title Here", True),  # issue 9: removed with no flag before
        ("Caf&eacute; <b>Bold</b> Claims", "Café Bold Claims", True),
        ("Bounds When k<n and n>m Hold", "Bounds When k<n and n>m Hold", False),  # maths, not markup
        ("<script>alert(1)</script> Evil", "<script>alert(1)</script> Evil", False),  # left: residue, quarantined
    ],
)
def test_html_removed_from_a_title_is_flagged(title_raw, title, flagged):
    cleaned = clean_records(raw_records([title_raw], ["An abstract."]).lazy()).collect()
    assert cleaned["title"].item() == title
    assert ("html_removed_title" in cleaned["flags"].item().to_list()) is flagged
