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
# "on", "de", "la"). A text is labelled "en" without calling langdetect when its 300-character sample (what
# langdetect reads) holds at least 6 of them making at least 15 % of its words (~73 % of synthetic texts); or,
# failing that, when the sample holds at least 3 making 10 % and the first 1,000 characters at least 6 making
# 15 % (a further ~20 %: long titles and jargon push the markers past the sample). Counting over 1,000
# characters costs ~4x the 300, so only texts the sample leaves undecided are counted again. The benchmark
# reports each run's agreement with plain seeded langdetect on the full text.
_ENGLISH_MARKERS = r"\b(?:the|of|and|that|with|this|which|we|our|are|from|these|have|has|for|by|is|to|can|be|its|their|than)\b"
MARKER_CHARS = 1000
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


def _counts(texts: pl.Series, window: int) -> tuple[pl.Series, pl.Series]:
    """Markers and words in the first `window` characters of each text."""
    head = texts.str.slice(0, window).str.to_lowercase()
    return head.str.count_matches(_ENGLISH_MARKERS), head.str.count_matches(r"\p{L}+")


def plainly_english(texts: pl.Series) -> pl.Series:
    """True for texts whose English function words make langdetect's answer a foregone 'en' (see above)."""
    texts = texts.cast(pl.String)
    markers, words = _counts(texts, SAMPLE_CHARS)
    plain = ((markers >= 6) & (markers >= 0.15 * words)).fill_null(False)
    undecided = ~plain & ((markers >= 3) & (markers >= 0.10 * words)).fill_null(False)
    if not undecided.any():
        return plain
    markers, words = _counts(texts.filter(undecided), MARKER_CHARS)
    return plain.scatter(undecided.arg_true(), (markers >= 6) & (markers >= 0.15 * words))


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
