"""Flags: what cleaning noticed in a record (FLAG_MEANINGS), added to the flags its reader gave it.

Read from the raw and cleaned columns after cleaning; each slow pattern runs only on the rows a fast scan lets
through (flows/clean/rows.py). Nothing here changes text.
"""

from __future__ import annotations

import polars as pl

from flows.clean.characters import HTML_TAG, MOJIBAKE, may_be_mojibake
from flows.clean.half_stripped import HALF_STRIPPED, may_hold_half_stripped
from flows.clean.latex import LATEX_FRAGMENT
from flows.clean.rows import contains_where, non_ascii, rows_replaced
from schemas.patterns import ABSTRACT_TEX_RESIDUE, TITLE_TEX_RESIDUE
from schemas.patterns import HTML_TAG as HTML_RESIDUE

FLAG_MEANINGS: dict[str, str] = {
    "abstract_missing": "the record has no abstract (null or empty after cleaning)",
    "title_empty": "the title is empty after cleaning; the record cannot be identified by title",
    "latex_residue_title": "the cleaned title still holds LaTeX: a backslash, '$', '{' or '}', a ^{...} group or "
    "half-stripped LaTeX (textsc{...}, cdot/infty glued to text) that the repairs did not recognise",
    "latex_residue_abstract": "the cleaned abstract still holds TeX: a command, $...$ math, a stray '$' next to a "
    "converted symbol or a formatting command left as a word (schemas/expectations.ABSTRACT_TEX_RESIDUE)",
    "stripped_latex_repaired": "in the title, half-stripped LaTeX was repaired: a command name glued to the text "
    "(ARTcdotV -> ART·V, pi_0 -> π₀), left before its braces (textsc{Foo} -> Foo) or a bare ^/_ (Model^2 -> "
    "Model²); the guess is worth a glance (abstracts are repaired the same way, unflagged)",
    "mojibake_repaired": "title or abstract was mis-decoded text (e.g. 'CafÃ©') and was repaired by ftfy",
    "mojibake_suspected": "the cleaned title or abstract still looks mis-decoded (checked where the raw text "
    "was non-ASCII or held HTML entities)",
    "html_residue": "the cleaned title or abstract still contains an HTML tag",
    "html_removed_title": "HTML tags (<i>, <sub>, <div>, ...) were removed from the title; title_raw keeps them",
    "authors_truncated": "the source ended the author list with 'et al.': more authors than those listed (a "
    "reader adds authors_not_shown:N when the source gives the number)",
}

# What any TeX residue needs, as separate scans that each run at memory speed (one regex mixing a character class
# with words would not), before the residue patterns of schemas/expectations.py run on the rows they let through.
_TEX_CHARACTERS = r"[\\${}^_]"
_TITLE_RESIDUE_WORDS = r"cdot|ldots|infty|arrow|leq|geq|neq|otimes|oplus|propto|mapsto"
_ABSTRACT_RESIDUE_WORDS = (
    r"text(?:sc|bf|it|tt|rm|sf)|math(?:cal|bb|bf|rm|sf|it|scr|frak)|emph|boldsymbol|operatorname|frac|sqrt|"
    r"newline|linebreak|[vh]space|noindent"
)


def _mojibake_found(values: pl.Series) -> pl.Series:
    return contains_where(values, may_be_mojibake(values), MOJIBAKE)


def _flag_lists(texts: pl.Series) -> pl.Series:
    """record_flags plus the cleaning flags (FLAG_MEANINGS), from a struct of the raw and cleaned columns."""
    texts = texts.struct.unnest()
    title, abstract = texts["title"], texts["abstract"]
    title_raw, abstract_raw = texts["title_raw"], texts["abstract_raw"]
    # Each slow pattern is tested only on the rows a fast scan lets through (rows.contains_where). Cleaned text
    # can only look mis-decoded where the raw text was non-ASCII or held entities (our own curly quotes and
    # symbols would make every other row a candidate for a slow scan).
    odd_raw = (
        non_ascii(title_raw)
        | non_ascii(abstract_raw)
        | title_raw.str.contains("&", literal=True)
        | abstract_raw.str.contains("&", literal=True)
    )
    mis_decoded = contains_where(title, odd_raw & may_be_mojibake(title), MOJIBAKE) | contains_where(
        abstract, odd_raw & may_be_mojibake(abstract), MOJIBAKE
    )
    checks = {
        "abstract_missing": abstract.is_null(),
        "title_empty": title.fill_null("") == "",
        "latex_residue_title": contains_where(
            title,
            title.str.contains(_TEX_CHARACTERS) | title.str.contains(_TITLE_RESIDUE_WORDS),
            rf"[\\$]|(?:^|[^a-z])cdot|cdot(?:[^a-z]|$)|{TITLE_TEX_RESIDUE}",
        ),
        "latex_residue_abstract": contains_where(
            abstract,
            abstract.str.contains(_TEX_CHARACTERS) | abstract.str.contains(_ABSTRACT_RESIDUE_WORDS),
            ABSTRACT_TEX_RESIDUE,
        ),
        "stripped_latex_repaired": _half_stripped_repaired(title_raw, title),
        "mojibake_repaired": (_mojibake_found(title_raw) | _mojibake_found(abstract_raw)) & ~mis_decoded,
        "mojibake_suspected": mis_decoded,
        "html_residue": contains_where(title, title.str.contains("<", literal=True), HTML_RESIDUE)
        | contains_where(abstract, abstract.str.contains("<", literal=True), HTML_RESIDUE),
        # Removed by cleaning (characters.tags_removed), so said here rather than lost silently.
        "html_removed_title": contains_where(title_raw, title_raw.str.contains("<", literal=True), HTML_TAG),
        "authors_truncated": texts["authors_truncated"],
    }
    assert checks.keys() == FLAG_MEANINGS.keys()
    found = pl.DataFrame({name: check.fill_null(False) for name, check in checks.items()})
    given = pl.select(
        pl.lit(texts["record_flags"]).fill_null(pl.lit([], dtype=pl.List(pl.String)))
    ).to_series()
    flagged = found.select(pl.any_horizontal(pl.all())).to_series()
    if not flagged.any():
        return given
    # Building lists row by row is slow in Polars (~1.5 s per 1M rows) and flags are rare: only for flagged rows.
    merged = (
        found.filter(flagged)
        .with_columns(given.filter(flagged).alias("given"))
        .select(
            pl.concat_list(["given", *(pl.when(pl.col(name)).then(pl.lit(name)) for name in checks)])
            .list.drop_nulls()
            .list.unique(maintain_order=True)
        )
        .to_series()
    )
    return rows_replaced(given, flagged, merged)


def _half_stripped_repaired(raw: pl.Series, cleaned: pl.Series) -> pl.Series:
    """Rows whose raw title held half-stripped LaTeX outside its intact LaTeX ($\\Omega_c^0$ is not half-stripped)."""
    found = (may_hold_half_stripped(raw) & cleaned.ne_missing(raw)).fill_null(False)
    where = found.arg_true()
    outside = raw.gather(where).str.replace_all(LATEX_FRAGMENT, " ").str.contains(HALF_STRIPPED)
    return found.scatter(where, outside.fill_null(False))


def flags() -> pl.Expr:
    """record_flags plus what cleaning noticed (see FLAG_MEANINGS), read from the raw and cleaned columns."""
    texts = pl.struct("title_raw", "abstract_raw", "title", "abstract", "record_flags", "authors_truncated")
    return texts.map_batches(_flag_lists, return_dtype=pl.List(pl.String))
