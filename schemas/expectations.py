"""The expectation suite: every check a candidate version must pass (blocking) or should pass (warning), once.

Pure data, reviewed like code. Each Check declares two things, never inferred from its name: what it is about
(`kind`: one RECORD, a paper's title, id or URL; or the DATASET, schema, uniqueness, reconciliation, census) and
what evaluates it (`engine`: GX, a Great Expectations class run by flows/gx_suite.py; or POLARS, one of the few
COMPUTED checks GX cannot express on one pandas batch, or not cheaply, defined in flows/computed_checks.py).
A failing blocking record check keeps only the offending papers out (they go to quarantine,
flows/record_checks.py); a failing blocking dataset check keeps the whole version out.
Nothing here imports GX or runs anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.patterns import (
    ABSTRACT_TEX_RESIDUE,
    ARXIV_ID,
    INVISIBLE,
    LANGUAGE,
    PAPER_ID,
    TITLE_RESIDUE,
    TITLE_TEX_RESIDUE,
    UI_LABEL_TITLE,
    URL,
    URL_GLUED_PUNCTUATION,
)
from schemas.tables import LINK_KINDS, PUBLISHED

RECORD = "record"  # about one row: failing rows are moved to quarantine (when blocking), the version publishes
DATASET = "dataset"  # about the whole version: a blocking failure keeps the version from being published
KINDS = (RECORD, DATASET)
GX = "gx"  # a Great Expectations expectation class, run on a pandas batch (flows/gx_suite.py)
POLARS = "polars"  # one of COMPUTED, evaluated with Polars (flows/computed_checks.py)
ENGINES = (GX, POLARS)


@dataclass(frozen=True)
class Check:
    """One expectation on one table: what it asserts, what it is about, what evaluates it, whether failing it
    blocks, and why.

    `kind` and `engine` are declared for every check, never inferred. A blocking RECORD check must be one that
    flows/record_checks.py can evaluate row by row (RECORD_EXPECTATIONS) and carry a `name`: the reason its
    offending records are quarantined with.
    """

    table: str
    expectation: str  # engine GX: a GX expectation class name; engine POLARS: one of COMPUTED
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    blocking: bool = True
    description: str = ""
    kind: str = field(kw_only=True)  # RECORD or DATASET
    engine: str = field(kw_only=True)  # GX or POLARS
    name: str | None = field(default=None, kw_only=True)  # stable short name; required for record checks

    def __post_init__(self) -> None:
        # A declaration that contradicts itself fails on import, not halfway through a run.
        problems = []
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {KINDS}")
        if self.engine not in ENGINES:
            problems.append(f"engine {self.engine!r} is not one of {ENGINES}")
        if (self.engine == POLARS) != (self.expectation in COMPUTED):
            problems.append(f"engine {self.engine!r} does not match: COMPUTED names the Polars checks")
        if self.kind == RECORD and self.blocking and not (self.name and self.expectation in RECORD_EXPECTATIONS):
            problems.append("a blocking record check needs a name and one of RECORD_EXPECTATIONS")
        if problems:
            raise ValueError(f"{self.table} {self.expectation}: " + "; ".join(problems))

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns whose values the check reads (ExpectTableColumnsToMatchOrderedList reads only names)."""
        named = [self.kwargs.get(k) for k in ("column", "column_A", "column_B")]
        if self.expectation != "ExpectTableColumnsToMatchOrderedList":
            named += list(self.kwargs.get("column_list", ()))
        return tuple(c for c in named if isinstance(c, str))


# Computed checks (engine POLARS, defined in flows/computed_checks.py).
COLUMN_TYPES = "columns_have_contract_types"
KEYS_EXIST = "paper_ids_exist_in_papers"
ROW_COUNT_DROP = "row_count_drop_vs_parent"
NULL_SHARE_JUMP = "null_share_jump_vs_parent"
TOP_LANGUAGE_SHIFT = "top_language_share_shift_vs_parent"
QUARANTINE_SHARE = "quarantine_share_of_raw_records"
# The census (flows/census.py): what every input announces against what its reader gave.
CENSUS_LOST_WHOLE = "inputs_yield_what_they_announce"
CENSUS_SHORTFALL = "inputs_reach_their_census"
# GX's ExpectColumnValuesToNotMatchRegex, evaluated by Polars (nulls skipped, pattern searched anywhere): for
# abstracts, ~1 GB at 1M rows, which GX's pandas engine would copy once per expectation on the papers batch.
NOT_MATCH_REGEX = "column_values_do_not_match_regex"
# Papers without an arXiv id whose title is page furniture (a button, a section heading of an HF page).
IDLESS_UI_LABELS = "idless_titles_look_like_ui_labels"
COMPUTED = frozenset(
    {
        IDLESS_UI_LABELS,
        COLUMN_TYPES,
        KEYS_EXIST,
        ROW_COUNT_DROP,
        NULL_SHARE_JUMP,
        TOP_LANGUAGE_SHIFT,
        QUARANTINE_SHARE,
        NOT_MATCH_REGEX,
        CENSUS_LOST_WHOLE,
        CENSUS_SHORTFALL,
    }
)
# Expectations a blocking RECORD check may use: each says, row by row, which rows fail (flows/record_checks.py).
RECORD_EXPECTATIONS = frozenset(
    {"ExpectColumnValuesToMatchRegex", "ExpectColumnValuesToNotMatchRegex", "ExpectColumnValuesToBeInSet",
     NOT_MATCH_REGEX}
)

# Run-time values, passed to GX as suite parameters so the suite itself stays static.
EXPECTED_APPEARANCES = "expected_appearances"  # raw_records - quarantined
APPEARANCES_ROWS = "appearances_rows"  # len(appearances)


def _required_columns() -> list[Check]:
    """Not-null checks for every non-nullable column of every table, straight from schemas/tables.py."""
    return [
        Check(
            table,
            "ExpectColumnValuesToNotBeNull",
            {"column": f.name},
            description=f"{f.name} is required: {f.metadata[b'doc'].decode()}",
            kind=DATASET, engine=GX,  # nulls here can only come from a bug of the pipeline, not from one raw record
        )
        for table, schema in PUBLISHED.items()
        for f in schema
        if not f.nullable
    ]


def _schema_checks() -> list[Check]:
    checks: list[Check] = []
    for table, schema in PUBLISHED.items():
        checks.append(
            Check(
                table,
                "ExpectTableColumnsToMatchOrderedList",
                {"column_list": list(schema.names)},
                description="columns are exactly the contract's, in order (schemas/tables.py)",
                kind=DATASET, engine=GX,
            )
        )
        checks.append(
            Check(
                table, COLUMN_TYPES, description="every column has the contract's type (analysts pin on it)",
                kind=DATASET, engine=POLARS,
            )
        )
    return checks


def _url_checks(table: str, column: str) -> list[Check]:
    return [
        Check(
            table,
            "ExpectColumnValuesToMatchRegex",
            {"column": column, "regex": URL},
            description="URL is absolute http(s) with no whitespace, quotes, <>, or {}",
            kind=RECORD, engine=GX,
            name=f"{column}_well_formed",
        ),
        Check(
            table,
            "ExpectColumnValuesToNotMatchRegex",
            {"column": column, "regex": URL_GLUED_PUNCTUATION},
            description="URL does not end with glued sentence punctuation (. , or an unopened ))",
            kind=RECORD, engine=GX,
            name=f"{column}_without_glued_punctuation",
        ),
    ]


SUITE: tuple[Check, ...] = (
    # --- blocking: schema -----------------------------------------------------------------------------------
    *_schema_checks(),
    *_required_columns(),
    # --- blocking: identity ---------------------------------------------------------------------------------
    Check(
        "papers",
        "ExpectColumnValuesToBeUnique",
        {"column": "paper_id"},
        description="one row per paper: paper_id is unique",
        kind=DATASET, engine=GX,
    ),
    Check(
        "links",
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": ["paper_id", "url"]},
        description="one row per (paper, URL)",
        kind=DATASET, engine=GX,
    ),
    Check(
        "appearances",
        KEYS_EXIST,
        {"column": "paper_id"},
        description="every appearance points at a paper in papers",
        kind=DATASET, engine=POLARS,
    ),
    Check(
        "links", KEYS_EXIST, {"column": "paper_id"}, description="every link points at a paper in papers",
        kind=DATASET, engine=POLARS,
    ),
    Check(
        "papers",
        "ExpectColumnValuesToMatchRegex",
        {"column": "arxiv_id", "regex": ARXIV_ID},
        description="arxiv_id is a version-less arXiv id of its era, never float-mangled; null allowed",
        kind=RECORD, engine=GX,
        name="arxiv_id_well_formed",
    ),
    Check(
        "papers",
        "ExpectColumnValuesToMatchRegex",
        {"column": "paper_id", "regex": PAPER_ID},
        description="paper_id is arxiv:<arXiv id> or title:<16 hex digits>",
        kind=RECORD, engine=GX,
        name="paper_id_well_formed",
    ),
    # --- blocking: clean text -------------------------------------------------------------------------------
    Check(
        "papers",
        "ExpectColumnValuesToNotMatchRegex",
        {"column": "title", "regex": TITLE_RESIDUE},
        description="no LaTeX/HTML residue in titles ($, backslash, glued cdot, entities, tags)",
        kind=RECORD, engine=GX,
        name="title_without_latex_or_html",
    ),
    Check(
        "papers",
        "ExpectColumnValuesToNotMatchRegex",
        {"column": "title", "regex": INVISIBLE},
        description="no NBSP or zero-width characters in titles",
        kind=RECORD, engine=GX,
        name="title_without_invisible_characters",
    ),
    Check(
        "papers",
        NOT_MATCH_REGEX,
        {"column": "abstract", "regex": INVISIBLE},
        description="no NBSP or zero-width characters in abstracts",
        kind=RECORD, engine=POLARS,
        name="abstract_without_invisible_characters",
    ),
    Check(
        "papers",
        "ExpectColumnValuesToMatchRegex",
        {"column": "language", "regex": LANGUAGE},
        description="language is an ISO 639-1 code (two lower-case letters) or null",
        kind=RECORD, engine=GX,
        name="language_is_iso_639_1",
    ),
    # --- blocking: URLs -------------------------------------------------------------------------------------
    *_url_checks("links", "url"),
    *_url_checks("papers", "code_url"),
    *_url_checks("papers", "project_url"),
    Check(
        "links",
        "ExpectColumnValuesToBeInSet",
        {"column": "kind", "value_set": list(LINK_KINDS)},
        description="kind is one of " + " / ".join(LINK_KINDS),
        kind=RECORD, engine=GX,
        name="link_kind_known",
    ),
    # --- blocking: reconciliation (SPEC §8: nothing is lost) ------------------------------------------------
    Check(
        "appearances",
        "ExpectTableRowCountToEqual",
        {"value": {"$PARAMETER": EXPECTED_APPEARANCES}},
        description="raw_records = appearances + quarantined: every raw record is accounted for",
        kind=DATASET, engine=GX,
    ),
    Check(
        "papers",
        "ExpectColumnSumToBeBetween",
        {
            "column": "n_appearances",
            "min_value": {"$PARAMETER": APPEARANCES_ROWS},
            "max_value": {"$PARAMETER": APPEARANCES_ROWS},
        },
        description="n_appearances adds up to the rows of appearances",
        kind=DATASET, engine=GX,
    ),
    Check(
        "papers",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {
            "column_A": "last_seen",
            "column_B": "first_seen",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        description="first_seen <= last_seen",
        kind=DATASET, engine=GX,
    ),
    # --- warnings: drift vs the parent version and unusual shares -------------------------------------------
    Check(
        "papers",
        ROW_COUNT_DROP,
        {"max_drop": 0.10},
        blocking=False,
        description="papers did not shrink by more than 10% vs the parent version",
        kind=DATASET, engine=POLARS,
    ),
    *(
        Check(
            "papers",
            NULL_SHARE_JUMP,
            {"column": column, "max_jump": 0.10},
            blocking=False,
            description=f"null share of {column} did not jump by more than 10 points vs the parent",
            kind=DATASET, engine=POLARS,
        )
        for column in ("abstract", "language", "code_url")
    ),
    Check(
        "papers",
        TOP_LANGUAGE_SHIFT,
        {"column": "language", "max_shift": 0.10},
        blocking=False,
        description="share of the parent's top language moved by at most 10 points",
        kind=DATASET, engine=POLARS,
    ),
    # --- warnings: what cleaning could not fix, listed with samples --------------------------------------------
    Check(
        "papers",
        NOT_MATCH_REGEX,
        {"column": "title", "regex": TITLE_TEX_RESIDUE},
        blocking=False,
        description="no half-stripped LaTeX left in titles (a command name before braces, cdot/infty glued to "
        "text, a ^{...} group); such papers carry the flag latex_residue_title",
        kind=RECORD, engine=POLARS,
    ),
    Check(
        "papers",
        NOT_MATCH_REGEX,
        {"column": "abstract", "regex": ABSTRACT_TEX_RESIDUE},
        blocking=False,
        description="no TeX residue in abstracts (a command word, $...$ math, a stray $ next to a converted "
        "symbol, a formatting command left as a word); such papers carry the flag latex_residue_abstract",
        kind=RECORD, engine=POLARS,
    ),
    Check(
        "papers",
        IDLESS_UI_LABELS,
        {"column": "title", "regex": UI_LABEL_TITLE, "max_words": 3},
        blocking=False,
        description="no paper without an arXiv id is titled like a page label (Upvote, Collections including "
        "this paper, Similar papers...) or is a bare card caption (a reader found no id, no abstract, at most 3 "
        "words): such a record is "
        "page furniture a reader took for a paper",
        kind=RECORD, engine=POLARS,
    ),
    Check(
        "papers",
        "ExpectColumnValuesToBeInSet",
        {"column": "language", "value_set": ["en"], "mostly": 0.8},
        blocking=False,
        description="at most 20% of papers with a detected language are not English",
        kind=DATASET, engine=GX,
    ),
    # --- census (SPEC §8: a parser that never saw a record shows up as a shortfall) --------------------------
    Check(
        "quarantine",
        CENSUS_LOST_WHOLE,
        description="no input that announces records (its reader's independent census) yields none of them "
        "without a reason; a file quarantined whole with its cause does not count",
        kind=DATASET, engine=POLARS,
    ),
    Check(
        "quarantine",
        CENSUS_SHORTFALL,
        blocking=False,
        description="every input's records + quarantine rows reach what its census announces; a shortfall is "
        "one census_shortfall row in quarantine naming the file and the count",
        kind=DATASET, engine=POLARS,
    ),
    Check(
        "quarantine",
        QUARANTINE_SHARE,
        {"max_share": 0.05},
        blocking=False,
        description="at most 5% of raw records were quarantined",
        kind=DATASET, engine=POLARS,
    ),
)
