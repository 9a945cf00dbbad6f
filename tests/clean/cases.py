"""Builders shared by the tests of flows/clean/: raw record frames, cleaned values, the seed's texts, and
the text pieces the property tests combine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from conftest import SEED
from hypothesis import strategies as st

from flows.clean import normalized_abstract, normalized_title
from schemas.tables import RAW_RECORDS, polars_schema


def seed_records() -> list[tuple[str, str]]:
    # After a 5-line header (each line followed by a blank), records alternate title / abstract lines.
    lines = [line for line in SEED.read_text(encoding="utf-8").split("\n")[10:] if line.strip()]
    return list(zip(lines[0::2], lines[1::2], strict=True))


REAL_LISTING = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "arxiv_listing" / "cs_2026-01-20.txt"


def raw_records(titles: list[str], abstracts: list[str | None], **columns) -> pl.DataFrame:
    """A RAW_RECORDS frame with the given titles/abstracts and plausible provenance."""
    n = len(titles)
    data = {
        "source_path": ["000_c273f1a1012d9d74.txt"] * n,
        "source_sha256": ["0" * 64] * n,
        "source_format": ["hf_papers_text"] * n,
        "position": list(range(1, n + 1)),
        "line": [11 + 4 * i for i in range(n)],
        "title_raw": titles,
        "abstract_raw": abstracts,
        **columns,
    }
    schema = polars_schema(RAW_RECORDS)
    frame = pl.DataFrame(data, schema={name: schema[name] for name in data})
    return frame.with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in data]
    ).select(schema.names())


def titles(values: list[str | None]) -> list[str | None]:
    return (
        pl.DataFrame({"t": values}, schema={"t": pl.String})
        .select(normalized_title("t"))
        .to_series()
        .to_list()
    )


def abstracts(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"a": values}, schema={"a": pl.String})
    return frame.select(normalized_abstract("a")).to_series().to_list()


PIECES = [
    r"$\alpha$",
    # half-stripped LaTeX and TeX in abstracts (issue 8)
    "cdot",
    "infty",
    "alpha",
    "pi_0",
    "Model^2",
    "^{3}",
    "textsc{",
    r"\frac{1}{n+1}",
    r"{\rm eff}",
    r"\newline",
    "$5M",
    "($40)",
    r"$ \alpha $",
    "et al.",
    r"\'e",
    r"\textbf{Fast}",
    r"\eg,",
    r"\ie",
    r"i.\,i.\,d",
    r"0.6\%",
    "10%",
    r"$O(n^2)$",
    "``",
    "''",
    '"',
    "'",
    "`",
    "model's",
    "https://github.com/a/b.",
    "researchhttps://x.io/{here}.",
    "\u00a0",
    "\u200b",
    "\u00ad",
    "ARTcdotV",
    "cdot",
    "GUESS:Grad",
    " : ",
    ":",
    ".",
    "...",
    "et al.",
    "&amp;",
    "&#39;",
    "&lt;",
    "&lt;i&gt;",
    "CafÃ©",
    "â€™",
    "$",
    "\\",
    "\\$",
    "{",
    "}",
    "~",
    "^",
    "_",
    "<i>",
    "</i>",
    " ",
    "  ",
    "\t",
    "\n",
    "10:30",
    "Simple",
    "%",
    "(",
    ")",
]
texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(alphabet="aZ09 .:$\\{}%'\"`~^_&;#<>()-", max_size=4)),
    max_size=12,
).map("".join)
