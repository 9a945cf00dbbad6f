"""Text safety and bounds for everything a reader produced: unsafe characters removed and flagged, overlong URLs.

Pure functions over strings and Polars frames, used by flows/readers/base.py (frames), flows/extract.py (what leaves
extraction) and the identity stage (links); nothing here reads files or knows a dump format. Linear in its input.
"""

from __future__ import annotations

import re

import polars as pl

# Sane bounds (issue 9): a real title is under ~300 characters and a real URL under ~500; ten times that is junk
# (a whole page glued into one field, a data: URI), never something to publish as-is.
TITLE_MAX_CHARS = 1000
URL_MAX_CHARS = 2000

# What the text-safety helpers flag on a record (they join record_flags; documented for the dataset card).
SAFETY_FLAGS = {
    "invalid_unicode_replaced": "a lone UTF-16 surrogate (e.g. a JSON \\ud800 escape) was replaced by U+FFFD",
    "control_characters_removed": "NUL or another control character was removed (form feeds became spaces)",
    "bidi_controls_removed": "a bidirectional embedding/override/isolate (e.g. U+202E) was removed",
    "url_too_long": f"a URL longer than {URL_MAX_CHARS:,} characters was dropped from the record's links",
}


# ---------------------------------------------------------------------------------------------- text safety

# Lone surrogates cannot be encoded as UTF-8, so Polars and Arrow refuse them; C0 controls and bidi overrides
# are valid but must never be published (a NUL in a title, an RTL override that reverses what a reader sees).
# C1 controls (U+0080..U+009F) are kept: they are how latin-1 mojibake looks, and flows/clean/characters.py repairs it.
_SURROGATES = "\ud800-\udfff"
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_SURROGATES}{_CONTROLS}{_BIDI}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_CONTROL = re.compile(f"[{_CONTROLS}]")
_VERTICAL_SPACE = re.compile("[\x0b\x0c]")
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
# The same classes for Polars (Rust regex syntax); surrogates cannot exist inside a Polars string.
_PL_CONTROL = r"[\x00-\x08\x0E-\x1F\x7F]"
_PL_VERTICAL_SPACE = r"[\x0B\x0C]"
_PL_BIDI = r"[\x{202A}-\x{202E}\x{2066}-\x{2069}]"
_PL_UNSAFE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{202A}-\x{202E}\x{2066}-\x{2069}]"
# The same set as scans of at most three bytes each, which the regex engine runs as a vectorised byte search
# (memchr3), and the bidi class (found by its lead byte). On abstracts (a kilobyte each) they take a quarter of
# the time of the one class, which the engine scans a byte at a time; on short values each search's set-up
# dominates and the one class is cheaper.
_UNSAFE_BYTES = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0x7F]
_PL_UNSAFE_SCANS = [
    "[" + "".join(f"\\x{c:02X}" for c in _UNSAFE_BYTES[i : i + 3]) + "]" for i in range(0, len(_UNSAFE_BYTES), 3)
] + [_PL_BIDI]


def sane_text(text: str) -> tuple[str, list[str]]:
    """A string made safe to hand to Polars and to publish, and the flags saying what was changed.

    Lone surrogates become U+FFFD (a pair split in two is joined back), NUL and other C0 controls are removed
    (vertical tab and form feed become spaces), bidi embeddings/overrides/isolates are removed. Linear time.

    >>> sane_text("Ti\\x00tle \\u202eevil \\ud800")
    ('Title evil \\ufffd', ['invalid_unicode_replaced', 'control_characters_removed', 'bidi_controls_removed'])
    """
    if not _UNSAFE.search(text):
        return text, []
    flags = []
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        flags.append("invalid_unicode_replaced")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", _VERTICAL_SPACE.sub(" ", text))
        flags.append("control_characters_removed")
    if _BIDI_CONTROL.search(text):
        text = _BIDI_CONTROL.sub("", text)
        flags.append("bidi_controls_removed")
    return text, flags


def sane_value(value, flags: list[str]):
    """sane_text over a reader value: strings, lists of strings, dicts (source_links structs); the rest as is."""
    if isinstance(value, str):
        clean, found = sane_text(value)
        flags.extend(f for f in found if f not in flags)
        return clean
    if isinstance(value, list):
        return [sane_value(v, flags) for v in value]
    if isinstance(value, dict):
        return {k: sane_value(v, flags) for k, v in value.items()}
    return value


def sane_text_expr(expr: pl.Expr) -> pl.Expr:
    """The Polars side of sane_text for one String column: controls and bidi overrides removed (vectorised)."""
    return (
        expr.str.replace_all(_PL_VERTICAL_SPACE, " ")
        .str.replace_all(_PL_CONTROL, "")
        .str.replace_all(_PL_BIDI, "")
    )


def unsafe_text_flags(expr: pl.Expr) -> list[pl.Expr]:
    """Per-row flag expressions (String or null) for what sane_text_expr will change in one String column."""
    return [
        pl.when(expr.str.contains(_PL_CONTROL) | expr.str.contains(_PL_VERTICAL_SPACE))
        .then(pl.lit("control_characters_removed")),
        pl.when(expr.str.contains(_PL_BIDI)).then(pl.lit("bidi_controls_removed")),
    ]


def has_unsafe_text(expr: pl.Expr, *, long_values: bool = False) -> pl.Expr:
    """True where a String column holds anything sane_text_expr would change (long_values: see _PL_UNSAFE_SCANS)."""
    if long_values:
        return pl.any_horizontal([expr.str.contains(scan) for scan in _PL_UNSAFE_SCANS]).fill_null(False)
    return expr.str.contains(_PL_UNSAFE).fill_null(False)


def sane_row(row: dict) -> dict:
    """A reader row with every text made safe (sane_value), what was changed added to its record_flags."""
    flags: list[str] = []
    clean = {k: sane_value(v, flags) for k, v in row.items() if k != "record_flags"}
    return {**clean, "record_flags": [*(row.get("record_flags") or []), *flags]}


# ---------------------------------------------------------------------------------------------- frames

_STRING_FIELDS = ("title_raw", "abstract_raw", "comments", "journal_ref", "doi", "arxiv_id", "section")
_LIST_FIELDS = ("authors", "categories")
_LONG_FIELDS = ("abstract_raw",)  # a kilobyte a value: checked with the byte searches (see _PL_UNSAFE_SCANS)


def sanitized_records(records: pl.DataFrame) -> pl.DataFrame:
    """Raw records with unsafe characters removed from every text field and flagged in record_flags.

    Vectorised, and a no-op after one scan per column when nothing is unsafe (the usual case).
    """
    # Every text a record holds, one String expression each (list fields joined: a flag is per record).
    texts = [pl.col(c) for c in _STRING_FIELDS] + [pl.col(c).list.join("\n") for c in _LIST_FIELDS]
    texts.append(pl.col("source_links").list.eval(pl.element().struct.field("url")).list.join("\n"))
    checks = [has_unsafe_text(t, long_values=t.meta.output_name() in _LONG_FIELDS) for t in texts]
    if not records.select(pl.any_horizontal(checks).any()).item():
        return records
    found = pl.concat_list([flag for t in texts for flag in unsafe_text_flags(t)]).list.drop_nulls()
    return records.with_columns(
        *[sane_text_expr(pl.col(c)) for c in _STRING_FIELDS],
        *[pl.col(c).list.eval(sane_text_expr(pl.element())) for c in _LIST_FIELDS],
        pl.col("source_links").list.eval(
            pl.element().struct.with_fields(sane_text_expr(pl.field("url")), sane_text_expr(pl.field("kind")))
        ),
        pl.concat_list(pl.col("record_flags"), found).list.unique(maintain_order=True).alias("record_flags"),
    )


def sanitized_quarantine(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows with unsafe characters removed from their text (they carry no flags column)."""
    cols = [c for c, t in quarantine.schema.items() if t == pl.String]
    if not quarantine.select(pl.any_horizontal(has_unsafe_text(pl.col(c)) for c in cols).any()).item():
        return quarantine
    return quarantine.with_columns(sane_text_expr(pl.col(c)).alias(c) for c in cols)


def overlong_url(text: pl.Expr, limit: int = URL_MAX_CHARS) -> pl.Expr:
    """True where a String column holds a URL (https?://\\S+) longer than `limit` characters.

    One scan, no list of URLs: the scheme followed by enough non-space characters is such a URL, or lies inside one
    (a longer URL that runs on into it), so the answer is the same as measuring every URL found.
    """
    return text.str.contains(rf"https://\S{{{max(limit - 7, 1)}}}|http://\S{{{max(limit - 6, 1)}}}").fill_null(False)


def bounded_links(links: pl.DataFrame, limit: int = URL_MAX_CHARS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Links within the URL bound, and the overlong ones (for the caller to flag their papers `url_too_long`).

    For the identity stage, after URLs have been extracted from abstracts: a URL longer than `limit` characters
    is junk (a data: URI, a page glued to a link), never something to publish.
    """
    long = pl.col("url").str.len_chars() > limit
    return links.filter(~long.fill_null(False)), links.filter(long.fill_null(False))
