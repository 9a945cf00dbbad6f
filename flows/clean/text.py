"""Titles and abstracts: the text rules in order, run on the rows a fast scan says they can change.

Series in, Series out inside one map_batches per column (the repairs call Python per distinct value, see
flows/parallel.py); the title key is a plain Polars expression. Authors, URLs and flags are their own modules.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from flows.clean.characters import (
    ENTITY,
    HTML_TAG,
    MARK,
    MOJIBAKE,
    entities_decoded,
    may_be_mojibake,
    mojibake_repaired,
    nfc,
    tags_removed,
    trimmed,
    visible,
)
from flows.clean.half_stripped import (
    ABSTRACT_STRIPPED,
    BARE_SCRIPT,
    COMMAND_BEFORE_BRACE,
    HALF_STRIPPED_HINTS,
    STRIPPED_COMMAND,
    abstract_commands_repaired,
    bare_scripts_converted,
    may_hold_half_stripped,
    stripped_commands_repaired,
)
from flows.clean.latex import LATEX_FOUND, latex_converted
from flows.clean.rows import applied_where, as_expr, contains_where, named_like, non_ascii

# A URL glued to the word before it ("researchhttps://...") gets its space back.
GLUED_URL = r"([\p{L}\p{N}])(?i:(https?://))"
# A title's trailing period stays after an abbreviation (et al., etc., U.S., e.g.) or an ellipsis.
_KEEP_FINAL_PERIOD = r"(\bet al|\betc|\bvs|\bInc|\bLtd|\bCorp|\bJr|\bSr|\.\p{L}{1,3}|\.\.)\.$"


def _still_repairable(values: pl.Series) -> pl.Series:
    """Rows that still show mojibake, an HTML entity or LaTeX."""
    # Mojibake is non-ASCII by definition, entities and LaTeX need & \ or $: gate the slow patterns on those.
    mojibake = contains_where(values, may_be_mojibake(values), MOJIBAKE)
    latex = contains_where(values, values.str.contains(r"[\\$&]"), f"{ENTITY}|{LATEX_FOUND}")
    # A command name before its braces shows up once a repair removed what stood before it ("\\textbf{x}"), and a
    # tag once a repair made one ("<\\a>" -> "<a>").
    revealed = contains_where(values, values.str.contains("{", literal=True), COMMAND_BEFORE_BRACE)
    tag = contains_where(values, values.str.contains("<", literal=True), HTML_TAG)
    return mojibake | latex | revealed | tag


def repaired(values: pl.Series) -> pl.Series:
    """Mojibake (ftfy), HTML entities and LaTeX (pylatexenc) repaired, once per distinct value or fragment."""
    values = applied_where(values, may_be_mojibake(values), mojibake_repaired)
    values = applied_where(values, values.str.contains("&", literal=True), entities_decoded)
    values = applied_where(values, values.str.contains(r"[\\$]"), latex_converted)
    # Converted text comes back tidied (characters.tidied), but a piece that became "" or " " can leave two
    # spaces.
    return applied_where(
        values, values.str.contains("  ", literal=True), lambda t: t.str.replace_all(" {2,}", " ")
    )


def _typographic_quotes(values: pl.Series) -> pl.Series:
    """TeX quotes made typographic: ``x" ``x'' "x'' -> “x”, `x' -> ‘x’."""
    # A single quote holding an apostrophe (`the model's view') is left as it is: which ' closes it is a guess,
    # and a wrong guess would make cleaning its own output change it again.
    return (
        values.str.replace_all(r"``([^`\"]*?)(?:''|\")", "“${1}”")
        .str.replace_all(r"\"([^\"`\s][^\"`]*?)''", "“${1}”")
        .str.replace_many({"``": "“", "''": "”"})
        .str.replace_all(r"`([^`'‘’\s][^`'‘’]*)'([^\p{L}`'‘’]|$)", "‘${1}’${2}")
    )


def _text_rules(values: pl.Series, *, title: bool) -> pl.Series:
    """The rules shared by titles and abstracts, each run on the rows a fast scan says it can change."""
    # Tags and invisible characters go before the repairs, so the repairs see the text a reader sees
    # ("\<i>x" must not turn into a TeX control space once the tag is gone: idempotence).
    values = tags_removed(values)
    # A command name left before its braces gets its backslash back, so the LaTeX repair below converts it.
    if title:
        values = applied_where(
            values,
            contains_where(values, values.str.contains("{", literal=True), COMMAND_BEFORE_BRACE),
            lambda t: t.str.replace_all(COMMAND_BEFORE_BRACE, "${1}\\${2}{${3}}"),
        )
    values = repaired(visible(values))
    values = applied_where(
        values, values.str.contains(GLUED_URL), lambda t: t.str.replace_all(GLUED_URL, "${1} ${2}")
    )
    values = trimmed(values)
    if title:
        hinted = may_hold_half_stripped(values)
        found = contains_where(values, hinted, STRIPPED_COMMAND)
        values = applied_where(values, found, stripped_commands_repaired)
    else:
        values = applied_where(values, values.str.contains(ABSTRACT_STRIPPED), abstract_commands_repaired)
    scripted = contains_where(values, values.str.contains(r"[\^_]"), BARE_SCRIPT)
    values = applied_where(values, scripted, bare_scripts_converted)
    # Quotes last: a repaired symbol can be what closes a quote ("`α'cdot" -> "`α'·" -> "‘α’·").
    return applied_where(values, values.str.contains(r"`|''"), _typographic_quotes)


def _final_period_dropped(values: pl.Series) -> pl.Series:
    """One trailing period dropped, not after an abbreviation or an ellipsis: 'A Title.' -> 'A Title'."""
    # The kept period is parked under a marker, so one linear chain does it.
    return (
        values.str.replace(_KEEP_FINAL_PERIOD, "${1}" + MARK)
        .str.replace(r"([^.\s])\.$", "${1}")
        .str.replace(MARK + "$", ".")
    )


def _colons_spaced(values: pl.Series) -> pl.Series:
    """'GUESS:GradUally' -> 'GUESS: GradUally', 'Network : JEI' -> 'Network: JEI'; 10:30, 1:1, http:// kept."""
    # Twice, because "A:B:C" overlaps.
    for _ in range(2):
        values = values.str.replace_all(r"(\p{L}):(\p{L})", "${1}: ${2}")
    return values.str.replace_all(r"([\p{L}\p{N})\]]) :(\s|$)", "${1}:${2}")


def _title_rules(values: pl.Series) -> pl.Series:
    # Only text that was non-ASCII to begin with can be out of NFC at the end: converters return NFC
    # (characters.tidied), and the rules only add precomposed characters (curly quotes, ·, ×).
    was_non_ascii = non_ascii(values)
    values = _text_rules(values, title=True)
    # The period goes before " :" is tightened, so "Title :." ends as "Title:" in one pass.
    values = applied_where(values, values.str.ends_with("."), _final_period_dropped)
    values = applied_where(values, values.str.contains(":", literal=True), _colons_spaced)
    return applied_where(values, was_non_ascii, nfc)


def _abstract_rules(values: pl.Series) -> pl.Series:
    was_non_ascii = non_ascii(values)  # see _title_rules
    values = applied_where(_text_rules(values, title=False), was_non_ascii, nfc)
    return applied_where(
        values, values == "", lambda empty: pl.repeat(None, empty.len(), dtype=pl.String, eager=True)
    )


def _at_fixed_point(rules: Callable[[pl.Series], pl.Series], cleaned: pl.Series) -> pl.Series:
    """cleaned, with its rows that still look repairable cleaned again until they stop changing (<= 3 rounds)."""
    # One pass is not always a fixed point, and idempotence needs one: a repair can reveal another ("\$x\$"
    # becomes "$x$"), and a later rule can make text look like mojibake again ("Î``" becomes "Î“", which is
    # how UTF-8 "Γ" looks in cp1252). Only these few rows are re-run.
    todo = _still_repairable(cleaned)
    for _ in range(3):
        if not todo.any():
            break
        where = todo.arg_true()
        before = cleaned.gather(where)
        after = rules(before)
        cleaned = cleaned.clone().scatter(where, after)
        todo = pl.Series([False] * cleaned.len()).scatter(where, after.ne_missing(before))
    return cleaned


def _may_change(values: pl.Series, *, title: bool) -> pl.Series:
    """Rows that some cleaning rule may change (no rule changes the others), found by fast scans only."""
    # Each check is what some rule needs in order to fire; a test pins that skipping the other rows changes no
    # result. One select: Polars runs the scans in parallel, outside the GIL.
    text = pl.col("text")
    needs = [
        text.str.len_bytes()
        != text.str.len_chars(),  # non-ASCII: NFC, invisible, NBSP, mojibake, curly quotes
        # whitespace to rewrite, tags, TeX quotes, LaTeX and entities: one byte class is one fast scan
        text.str.contains(r"[\t\n\r\x0b\x0c<`\\$&]"),
        text.str.contains(r"  |''"),
        text.str.starts_with(" ") | text.str.ends_with(" "),
        text.str.contains(GLUED_URL),
        text.str.contains(r"[\^_]"),  # bare scripts
        text == "",
    ]
    if title:
        needs += [text.str.contains(hint) for hint in HALF_STRIPPED_HINTS]
        needs += [text.str.contains(":", literal=True), text.str.ends_with(".")]
    else:
        needs += [text.str.contains(ABSTRACT_STRIPPED)]
    return values.alias("text").to_frame().select(pl.any_horizontal(needs).fill_null(False)).to_series()


def rules_applied(rules: Callable[[pl.Series], pl.Series], values: pl.Series, *, title: bool) -> pl.Series:
    """values with rules applied to the rows they may change, then brought to a fixed point (_at_fixed_point)."""
    return applied_where(
        values, _may_change(values, title=title), lambda text: _at_fixed_point(rules, rules(text))
    )


def cleaned_titles(values: pl.Series) -> pl.Series:
    """The title rules applied to a Series of raw titles (normalized_title's work)."""
    return rules_applied(_title_rules, values, title=True)


def cleaned_abstracts(values: pl.Series) -> pl.Series:
    """The abstract rules applied to a Series of raw abstracts (normalized_abstract's work)."""
    return rules_applied(_abstract_rules, values, title=False)


# --- text normalisers ------------------------------------------------------------------------------------


def normalized_title(col: str | pl.Expr) -> pl.Expr:
    r"""Cleaned title (SPEC §6); null stays null.

    Example: 'GUESS:GradUally Enriching $\alpha$-Net : Caf\'e.' -> 'GUESS: GradUally Enriching α-Net: Café'
    """
    # One map_batches: the rules are Polars string kernels run on the rows that need them (flows/clean/rows.py),
    # and the repairs call Python once per distinct value.
    return named_like(as_expr(col).map_batches(cleaned_titles, return_dtype=pl.String), col)


def normalized_abstract(col: str | pl.Expr) -> pl.Expr:
    r"""Cleaned abstract (SPEC §6); null stays null and an abstract with no text left becomes null.

    Example: 'by 0.6\% (\eg, ``reprogrammed" models) in researchhttps://x.io' ->
    'by 0.6% (e.g., “reprogrammed” models) in research https://x.io'
    """
    return named_like(as_expr(col).map_batches(cleaned_abstracts, return_dtype=pl.String), col)


def title_key(col: str | pl.Expr) -> pl.Expr:
    """Identity key of a cleaned title: lower case, accents folded, non-alphanumerics to one space.

    Example: 'ART·V: Auto-Regressive Café' -> 'art v auto regressive cafe'
    """
    title = as_expr(col)
    # A plain expression, so that the optimizer sees into it. Only non-ASCII titles have accents to fold: on 850k
    # titles (one thread) NFKD behind this when/then costs 0.6-0.7 s CPU, as the Series version that gathered the
    # non-ASCII rows did, and 1.3 s on every row.
    folded = (
        pl.when(title.str.len_bytes() != title.str.len_chars())
        .then(title.str.normalize("NFKD").str.replace_all(r"\p{M}+", ""))
        .otherwise(title)
    )
    key = (
        folded.str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N} ]+", " ")
        .str.replace_all(" {2,}", " ")
        .str.strip_chars()
    )
    return named_like(key, col)

