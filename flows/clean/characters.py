"""Character repairs: mojibake (ftfy), HTML entities and tags, invisible characters, whitespace and NFC.

Series in, Series out, each rule run on the rows a fast scan selects (flows/clean/rows.py); ftfy and html run
once per distinct value that needs them (flows/parallel.py). LaTeX is flows/clean/latex.py's.
"""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy
import polars as pl

from flows.clean.rows import applied_where, non_ascii
from flows.parallel import each_remembered, per_distinct_value

# UTF-8 read as cp1252/latin-1: a lead byte shown as Â..ï followed by a continuation byte shown as
# U+0080..U+00BF or one of cp1252's remapped 0x80..0x9F characters (€, ‚, ƒ, „, …, ™, œ, ...).
_CONT = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
MOJIBAKE = f"[\u00c2-\u00ef][{_CONT}]"
ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
_ENTITY_PY = re.compile(ENTITY)

# A private-use character the rules park text under (a repaired command name, a kept final period): it carries
# no meaning in paper text, and INVISIBLE drops it from input so that input cannot collide with it.
MARK = "\ue001"
# Invisible characters, plus MARK.
INVISIBLE = f"[\u200b-\u200d\u2060\ufeff\u00ad{MARK}]"
# Only runs of two or more, or a lone non-ASCII-space whitespace (NBSP, tab, newline...), need rewriting.
WHITESPACE = r"\s\s+|[^\S ]"
# The same two rules for the Python converters' output (Rust's \s is Unicode White_Space, spelled out here).
_INVISIBLE_PY = re.compile(INVISIBLE)
_SPACE_CHARS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE_PY = re.compile(f"[{_SPACE_CHARS}]{{2,}}|[{_SPACE_CHARS.replace(' ', '')}]")
# Characters NFC can change: marks (which may compose with what precedes) and the few that NFC maps to
# another character (computed from Python's unicodedata: normalize('NFC', c) != c, plus composing jamo).
_NOT_NFC = (
    r"["
    r"\p{M}\x{0374}\x{037E}\x{0387}\x{0958}-\x{095F}\x{09DC}-\x{09DD}\x{09DF}\x{0A33}\x{0A36}"
    r"\x{0A59}-\x{0A5B}\x{0A5E}\x{0B5C}-\x{0B5D}\x{0F43}\x{0F4D}\x{0F52}\x{0F57}\x{0F5C}\x{0F69}"
    r"\x{1161}-\x{1175}\x{11A8}-\x{11C2}\x{1F71}\x{1F73}\x{1F75}\x{1F77}\x{1F79}\x{1F7B}\x{1F7D}"
    r"\x{1FBB}\x{1FBE}\x{1FC9}\x{1FCB}\x{1FD3}\x{1FDB}\x{1FE3}\x{1FEB}\x{1FEE}-\x{1FEF}\x{1FF9}"
    r"\x{1FFB}\x{1FFD}\x{2000}-\x{2001}\x{2126}\x{212A}-\x{212B}\x{2329}-\x{232A}\x{2ADC}"
    r"\x{F900}-\x{FA0D}\x{FA10}\x{FA12}\x{FA15}-\x{FA1E}\x{FA20}\x{FA22}\x{FA25}-\x{FA26}"
    r"\x{FA2A}-\x{FA6D}\x{FA70}-\x{FAD9}\x{FB1D}\x{FB1F}\x{FB2A}-\x{FB36}\x{FB38}-\x{FB3C}\x{FB3E}"
    r"\x{FB40}-\x{FB41}\x{FB43}-\x{FB44}\x{FB46}-\x{FB4E}\x{1D15E}-\x{1D164}\x{1D1BB}-\x{1D1C0}"
    r"\x{2F800}-\x{2FA1D}"
    r"]"
)
HTML_TAG = r"(?i)</?(?:i|b|u|em|strong|sub|sup|tt|code|span|p|div|br|a|font|small|big|mark)(?:\s[^<>]*)?/?>"
_HTML_TAG_PY = re.compile(HTML_TAG)


# --- per-value converters (str -> str) --------------------------------------------------------------------


def tidied(text: str) -> str:
    """A converter's output as the vectorised rules would leave it: visible, single-spaced, NFC."""
    text = unicodedata.normalize("NFC", _WHITESPACE_PY.sub(" ", _INVISIBLE_PY.sub("", text)))
    # An accent with no letter before it would combine with whatever text precedes the converted piece.
    while text and unicodedata.combining(text[0]):
        text = text[1:]
    return text


def _fixed_encoding(text: str) -> str:
    return tidied(ftfy.fix_encoding(text))


def _unescaped_entities(text: str) -> str:
    """HTML entities decoded, repeatedly, so "&amp;lt;" settles too: 'R&amp;D' -> 'R&D'."""
    for _ in range(3):
        decoded = _ENTITY_PY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    # An escaped inline tag ("&lt;i&gt;") is a tag once decoded; it goes like the others did, or cleaning the
    # cleaned text would remove it then.
    return tidied(_HTML_TAG_PY.sub(" ", text))


# --- Series rules -----------------------------------------------------------------------------------------


def may_be_mojibake(values: pl.Series) -> pl.Series:
    """Rows holding a character U+00C0..U+00FF, as every MOJIBAKE match does (it opens with one of U+00C2..U+00EF).

    One search for their UTF-8 lead byte 0xC3, which runs at memory speed; the pattern itself scans a byte at a time
    and would otherwise run on every non-ASCII row (curly quotes, Greek letters, math symbols).
    """
    return values.cast(pl.Binary).bin.contains(b"\xc3")


def mojibake_repaired(values: pl.Series) -> pl.Series:
    """Mis-decoded text repaired by ftfy, once per distinct value: 'CafÃ©' -> 'Café'."""
    return per_distinct_value(values, each_remembered(_fixed_encoding), rows=values.str.contains(MOJIBAKE))


def entities_decoded(values: pl.Series) -> pl.Series:
    """HTML entities decoded (and tags they spelled removed), once per distinct value: 'R&amp;D' -> 'R&D'."""
    return per_distinct_value(values, each_remembered(_unescaped_entities), rows=values.str.contains(ENTITY))


def tags_removed(values: pl.Series) -> pl.Series:
    """Inline HTML tags made a space (whitespace is collapsed later): 'A <i>B</i>' -> 'A  B '."""
    return applied_where(
        values, values.str.contains("<", literal=True), lambda t: t.str.replace_all(HTML_TAG, " ")
    )


def visible(values: pl.Series) -> pl.Series:
    """Invisible characters dropped; NBSP, tabs, newlines and runs of spaces made one space."""
    rows = (
        non_ascii(values)
        | values.str.contains(r"[\t\n\r\x0b\x0c]")
        | values.str.contains("  ", literal=True)
    )
    return applied_where(
        values, rows, lambda text: text.str.replace_all(INVISIBLE, "").str.replace_all(WHITESPACE, " ")
    )


def nfc(values: pl.Series) -> pl.Series:
    """Unicode NFC, computed only where it can change something."""
    return applied_where(values, values.str.contains(_NOT_NFC), lambda needing: needing.str.normalize("NFC"))


def trimmed(values: pl.Series) -> pl.Series:
    """A leading or trailing space removed (whitespace is single spaces by then: only a space can need it)."""
    return applied_where(
        values, values.str.starts_with(" ") | values.str.ends_with(" "), lambda t: t.str.strip_chars()
    )
