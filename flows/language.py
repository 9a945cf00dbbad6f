"""Language stage: an ISO 639-1 code per text with seeded langdetect, run once per distinct text sample.

The engine is langdetect-rs, a Rust port of langdetect 1.0.9 that gives the same seeded probabilities bit for
bit (tests/test_language.py compares the two) and detects a batch without the GIL. It labels text the caller
chose (title + ". " + abstract, see language_expr_input); it does not clean text, it does not guess for empty
or letter-less text (null), and it never reads or writes files. Like cleaning's converters, it runs once per
distinct value through flows/parallel.per_distinct_value.
"""

from __future__ import annotations

import polars as pl

from flows.parallel import per_distinct_value

# langdetect samples character n-grams; the first 300 characters (the title and the abstract's opening) give
# the label the full text gives (python -m flows.bench prints the agreement on real and synthetic texts) at
# about half the time per text, and far fewer distinct values to detect when only an abstract's tail differs.
SAMPLE_CHARS = 300
# Function words that are English and not words of the other languages langdetect knows well (no "in", "an",
# "on", "de", "la"). A text is labelled "en" without calling langdetect when its first 1,000 characters hold at
# least 6 of them making at least 15 % of their words, and its 300-character sample (what langdetect would read)
# at least 3 making 10 %: ~93 % of synthetic texts (27 % were left to langdetect when only the sample was
# counted). The benchmark reports each run's agreement with plain seeded langdetect on the full text.
_ENGLISH_MARKERS = r"\b(?:the|of|and|that|with|this|which|we|our|are|from|these|have|has|for|by|is|to|can|be|its|their|than)\b"
MARKER_CHARS = 1000
_MARKER_RULES = ((MARKER_CHARS, 6, 0.15), (SAMPLE_CHARS, 3, 0.10))  # (window, at least, share of its words)
# langdetect's own codes that are not ISO 639-1.
_ISO_639_1 = {"zh-cn": "zh", "zh-tw": "zh"}
# Every Detector draws from random.Random(seed); without a seed the same text can get different labels.
SEED = 0


def language_expr_input(title: str | pl.Expr, abstract: str | pl.Expr) -> pl.Expr:
    """The text whose language is detected: title, '. ', abstract (the title alone when there is none).

    Example: ('Café', 'We study...') -> 'Café. We study...'
    """
    title = pl.col(title) if isinstance(title, str) else title
    abstract = pl.col(abstract) if isinstance(abstract, str) else abstract
    return pl.concat_str([title, abstract], separator=". ", ignore_nulls=True)


def seeded_labels(texts: list[str]) -> list[str | None]:
    """langdetect's seeded `detect` of each text (None where it finds no features), in Rust, without the GIL.

    Example: ['Das ist ein kurzer deutscher Satz.', '1234'] -> ['de', None]
    """
    import langdetect_rs

    langdetect_rs.DetectorFactory.seed = SEED
    return [_ISO_639_1.get(code, code) if code else None for code in langdetect_rs.detect_batch(texts)]


def plainly_english(texts: pl.Series) -> pl.Series:
    """True for texts whose English function words make langdetect's answer a foregone 'en' (_MARKER_RULES)."""
    plain = pl.repeat(True, texts.len(), eager=True)
    for window, least, share in _MARKER_RULES:
        head = texts.cast(pl.String).str.slice(0, window).str.to_lowercase()
        markers = head.str.count_matches(_ENGLISH_MARKERS)
        plain &= (markers >= least) & (markers >= share * head.str.count_matches(r"\p{L}+"))
    return plain.fill_null(False)


def _seeded(samples: pl.Series) -> pl.Series:
    return pl.Series(seeded_labels(samples.to_list()), dtype=pl.String)


def detected_languages(texts: pl.Series) -> pl.Series:
    """ISO 639-1 code per text (null when empty or undetectable), seeded langdetect on the first 300 chars.

    Plainly English texts (see plainly_english) skip langdetect; every other distinct sample runs it once.

    Example: pl.Series(['Learning to rank.', None, '']) -> pl.Series(['en', None, None])
    """
    samples = texts.cast(pl.String).str.slice(0, SAMPLE_CHARS).str.strip_chars()
    # Labelled per distinct sample: a paper seen in many digests is one sample. An empty sample has no label.
    samples = samples.replace("", None)
    english = plainly_english(texts) & samples.is_not_null()
    labels = per_distinct_value(samples, _seeded, rows=~english)
    return pl.select(pl.when(english).then(pl.lit("en")).otherwise(labels)).to_series().alias(texts.name)
