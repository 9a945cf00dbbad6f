"""Dataset card: the README.md inside every version — what it is, how to load it, schema, counts, changes.

Pure text rendering from the version's tables and manifest, plus the card's small SVG plots (`card_plots`);
the caller writes the files. Nothing here reads or writes the filesystem.
"""

from __future__ import annotations

import re
from html import escape

import polars as pl

from flows import identity
from schemas.expectations import DATASET, RECORD, SUITE
from schemas.tables import PUBLISHED

# Where the plots go, relative to README.md; the card links them with relative Markdown image links.
DIGEST_DATES_PLOT = "plots/digest_dates.svg"
LANGUAGES_PLOT = "plots/languages.svg"

MAX_DATE_BARS = 62  # beyond two months of daily digests one bar per date stops being readable: bars per month
MAX_LANGUAGE_BARS = 12
NO_LANGUAGE = "(undetected)"
NO_DATE = "(no date)"

# Markdown would read these as markup (links, code, emphasis, table cells) or, for <>&, as raw HTML.
_MD_ESCAPES = {
    **{c: "\\" + c for c in "\\`*[]|"},
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
    "\r": " ",
    "\n": " ",
}


def _md(value: object) -> str:
    """Make a value safe inside a Markdown table cell: shown as text, never as markup or HTML."""
    return str(value).translate(str.maketrans(_MD_ESCAPES))


def _share_table(
    frame: pl.DataFrame, column: str, header: str, limit: int = 12, null_label: str = "(none)"
) -> list[str]:
    counts = frame.group_by(column).len().sort(["len", column], descending=[True, False], nulls_last=True)
    total = max(frame.height, 1)
    lines = [f"| {header} | rows | share |", "|---|---:|---:|"]
    for value, n in counts.head(limit).iter_rows():
        lines.append(f"| {_md(value if value is not None else null_label)} | {n:,} | {n / total:.1%} |")
    if counts.height > limit:
        rest = counts.tail(counts.height - limit)["len"].sum()
        lines.append(f"| {counts.height - limit:,} more | {rest:,} | {rest / total:.1%} |")
    return lines


def precedence_rules() -> list[str]:
    """The field precedence rules, from flows/identity.py's module docstring (the one place they live)."""
    # Parsed at run time so that the card cannot drift from the code's own description of what it does.
    doc = identity.__doc__ or ""  # None under python -OO
    _, found, rest = doc.partition("Field precedence")
    rules: list[str] = []
    for line in rest.split("\n\n")[0].splitlines()[1:] if found else []:
        if line.startswith("- "):
            rules.append(line[2:].strip())
        elif rules and line.startswith(" "):
            rules[-1] += " " + line.strip()
    return rules


def _diff_summary(manifest: dict) -> dict | None:
    diff = manifest.get("diff")
    if not diff:
        return None
    # The manifest carries the whole diff (flows/diff.py); the card shows its summary.
    return diff.get("summary", diff)


def _expectation_kinds(validation: dict, census: dict | None) -> list[str]:
    """The card's account of both kinds of expectations, and of the census, for this version."""
    record = [c for c in SUITE if c.kind == RECORD and c.blocking]
    dataset = [c for c in SUITE if c.kind == DATASET and c.blocking]
    moved = validation.get("quarantined_by_record_checks") or {}
    out = [
        "## Expectations: records and dataset",
        "",
        (
            f"- {len(dataset)} dataset-level expectations (schema, uniqueness, reconciliation, census) block the "
            "whole version when they fail; this version passed them all."
        ),
        (
            f"- {len(record)} record-level expectations (ids, titles, URLs, languages) never block it: a paper "
            "that fails one leaves papers, appearances and links, and each of its sightings is a quarantine row "
            "whose reason is the expectation's name: " + ", ".join(f"`{c.name}`" for c in record) + "."
        ),
    ]
    if moved:
        out.append("- moved to quarantine in this version: " + ", ".join(
            f"{n:,} sighting(s) by `{name}`" for name, n in moved.items()) + ".")
    if census:
        short = census.get("files_short") or []
        out.append(
            f"- census: {census['files_counted']:,} inputs counted apart from their parsers announce "
            f"{census['announced']:,} records; "
            + (
                f"{census['shortfall']:,} are missing from {len(short)} file(s) "
                f"({', '.join(_md(s) for s in short[:5])}), each said by a `census_shortfall` quarantine row."
                if short
                else "every one is accounted for."
            )
        )
    return [*out, ""]


def dataset_card(version: str, tables: dict[str, pl.DataFrame], manifest: dict) -> str:
    """The Markdown dataset card for one version; its plots (card_plots) are linked as relative images."""
    papers, appearances, links, quarantine = (tables[t] for t in ("papers", "appearances", "links", "quarantine"))
    dates = appearances["digest_date"].drop_nulls()
    date_range = f"{dates.min()} to {dates.max()}" if dates.len() else "unknown"
    summary = _diff_summary(manifest)
    validation = manifest["validation"]
    out = [
        f"# papers — version {version}",
        "",
        (
            "Research papers collected from raw digest dumps (Hugging Face papers pages, daily-papers JSON, "
            "arXiv listings, feeds), cleaned (Unicode, LaTeX, HTML entities, URLs), deduplicated to one row "
            "per paper, validated by a Great Expectations suite and published as an immutable version."
        ),
        "",
        f"- created: {manifest['created_at']}",
        f"- parent version: {manifest.get('parent') or '(none — first version)'}",
        (
            f"- validation: {'passed' if validation['success'] else 'FAILED'} "
            f"({validation['passed']} of {validation['evaluated']} expectations passed; "
            f"{validation['failed_warning']} warnings) — see `report/index.html`"
        ),
        f"- digest dates: {date_range}",
        f"- schema fingerprint: `{manifest['schema_fingerprint'][:16]}`",
        "",
        "## Load it",
        "",
        "```python",
        "import polars as pl",
        f'papers = pl.read_parquet("{version}/papers.parquet")',
        "",
        "import duckdb",
        f"duckdb.sql(\"select language, count(*) from '{version}/papers.parquet' group by 1\").show()",
        "",
        "import pandas as pd",
        f'appearances = pd.read_parquet("{version}/appearances.parquet")',
        "```",
        "",
        "Paths are relative to the dataset directory; `latest` (a one-line text file) names the newest version.",
        "",
        "## Row counts",
        "",
        "| table | rows | what one row is |",
        "|---|---:|---|",
        f"| papers | {papers.height:,} | a paper, whatever the number of digests it came through |",
        f"| appearances | {appearances.height:,} | one sighting of a paper in one digest |",
        f"| links | {links.height:,} | one (paper, canonical URL) pair |",
        f"| quarantine | {quarantine.height:,} | a raw record that could not be used, with the reason |",
        "",
        (
            f"Reconciliation: {manifest['counts']['raw_records']:,} raw records = "
            f"{manifest['counts']['appearances']:,} appearances + "
            f"{manifest['counts']['quarantined']:,} quarantined."
        ),
        "",
        *_expectation_kinds(validation, manifest["counts"].get("census")),
        "## Changes since the parent version",
        "",
    ]
    if summary is None:
        out.append("First version: every paper is new.")
    else:
        out.append(
            f"{summary['added']:,} added, {summary['removed']:,} removed, {summary['reidentified']:,} re-identified, "
            f"{summary['changed']:,} changed, {summary['unchanged']:,} unchanged."
        )
        fields = summary.get("changed_fields") or {}
        if fields:
            ordered = sorted(fields.items(), key=lambda kv: (-kv[1], kv[0]))
            out += ["", "Fields changed: " + ", ".join(f"`{_md(f)}` in {n:,}" for f, n in ordered) + "."]
    out += ["", "## Sources", "", *_formats_table(manifest["inputs"]), ""]
    out += ["| file | format | records | quarantined | sha256 |", "|---|---|---:|---:|---|"]
    for item in manifest["inputs"]:
        out.append(
            f"| {_md(item['path'])} | {_md(item['format'])} | {item['records']:,} | {item['quarantined']:,} "
            f"| `{_md(item['sha256'][:12])}` |"
        )
    out += ["", "## Papers per digest date", "", f"Digest dates: {date_range}.", ""]
    out += [f"![Bar chart: papers seen per digest date]({DIGEST_DATES_PLOT})"]
    out += ["", "## Languages", "", f"![Bar chart: papers per language]({LANGUAGES_PLOT})", ""]
    out += _share_table(papers, "language", "language", null_label=NO_LANGUAGE)
    out += ["", "## Link kinds", "", *_share_table(links, "kind", "kind")]
    flags = papers.select(pl.col("flags").explode().alias("flag")).drop_nulls()
    out += ["", "## Flags (what cleaning could not fully fix)", ""]
    out += _share_table(flags, "flag", "flag") if flags.height else ["No paper carries a flag."]
    out += ["", "## Quarantine reasons", ""]
    out += _share_table(quarantine, "reason", "reason") if quarantine.height else ["Nothing was quarantined."]
    out += ["", "## Field precedence", ""]
    rules = precedence_rules()
    intro = "When several sightings of one paper disagree, each field of the published row comes from:"
    out += [intro, "", *(f"- {rule}" for rule in rules)] if rules else ["See flows/identity.py's docstring."]
    out += ["", "## Schema", ""]
    for table, schema in PUBLISHED.items():
        out += [f"### {table}", "", "| column | type | nullable | meaning |", "|---|---|---|---|"]
        for field in schema:
            doc = (field.metadata or {}).get(b"doc", b"").decode()
            nullable = "yes" if field.nullable else "no"
            out.append(f"| `{field.name}` | `{field.type}` | {nullable} | {_md(doc)} |")
        out.append("")
    return "\n".join(out)


def _formats_table(inputs: list[dict]) -> list[str]:
    by_format: dict[str, list[int]] = {}
    for item in inputs:
        files_records_quarantined = by_format.setdefault(item["format"], [0, 0, 0])
        files_records_quarantined[0] += 1
        files_records_quarantined[1] += item["records"]
        files_records_quarantined[2] += item["quarantined"]
    lines = ["| format | files | records | quarantined |", "|---|---:|---:|---:|"]
    lines += [f"| {_md(f)} | {n:,} | {r:,} | {q:,} |" for f, (n, r, q) in sorted(by_format.items())]
    return lines


# --- plots ------------------------------------------------------------------------------------------------


def card_plots(tables: dict[str, pl.DataFrame]) -> dict[str, str]:
    """The card's plots as {path relative to README.md: SVG text}; same tables give the same bytes."""
    return {
        DIGEST_DATES_PLOT: _bar_chart(*_papers_per_digest_date(tables["appearances"]), colour="#3b6fb6"),
        LANGUAGES_PLOT: _bar_chart(*_papers_per_language(tables["papers"]), colour="#2e8b6e"),
    }


Bars = list[tuple[str, int, str]]  # (label, value, annotation shown after the bar)


def _papers_per_digest_date(appearances: pl.DataFrame) -> tuple[str, Bars]:
    """Distinct papers seen per digest date (per month when there are too many dates), oldest first."""
    dates = appearances.select("digest_date", "paper_id")
    title, key = "Papers per digest date", pl.col("digest_date").cast(pl.String)
    if dates["digest_date"].drop_nulls().n_unique() > MAX_DATE_BARS:
        title, key = "Papers per digest month", pl.col("digest_date").dt.strftime("%Y-%m")
    counts = (
        dates.group_by(key.alias("label"))
        .agg(pl.col("paper_id").n_unique().alias("n"))
        .sort("label", nulls_last=True)
    )
    return title, [(label or NO_DATE, n, f"{n:,}") for label, n in counts.iter_rows()]


def _papers_per_language(papers: pl.DataFrame) -> tuple[str, Bars]:
    """Papers per detected language, most frequent first; the tail folded into one bar, undetected last."""
    counts = (
        papers.group_by("language").len()
        .sort(["len", "language"], descending=[True, False], nulls_last=True)
    )
    known = counts.filter(pl.col("language").is_not_null())
    undetected = counts.filter(pl.col("language").is_null())["len"].sum()
    total = max(papers.height, 1)
    rows = list(known.head(MAX_LANGUAGE_BARS).iter_rows())
    if known.height > MAX_LANGUAGE_BARS:
        tail = known.tail(known.height - MAX_LANGUAGE_BARS)
        rows.append((f"{tail.height} other languages", tail["len"].sum()))
    if undetected:
        rows.append((NO_LANGUAGE, undetected))
    return "Papers per language", [(label, n, f"{n:,} ({n / total:.1%})") for label, n in rows]


# Layout in px. Text widths are estimated (no font metrics without a renderer); labels longer than
# LABEL_CHARS are cut, so an estimate is all the layout needs.
_FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif" font-size="12"'
_CHAR_W, _LABEL_CHARS, _ROW, _PAD, _BAR_W, _NOTE_W, _TOP = 7, 28, 22, 12, 360, 110, 40
# Characters XML 1.0 forbids even when escaped; a label from the data must not make the file unparseable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: object) -> str:
    return escape(_XML_INVALID.sub("\ufffd", str(text)), quote=True)


def _cut(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _bar_chart(title: str, bars: Bars, colour: str) -> str:
    """A standalone horizontal bar chart: one labelled bar per (label, value, annotation), drawn by hand."""
    # Hand-made rather than matplotlib/plotly: a few rects and texts, byte-for-byte deterministic, no fonts
    # embedded, and no plotting stack in the pipeline's dependencies.
    label_w = min(max([6, *(len(label) for label, _, _ in bars)]), _LABEL_CHARS) * _CHAR_W + 12
    x0 = _PAD + label_w
    width = x0 + _BAR_W + _NOTE_W
    height = _TOP + max(len(bars), 1) * _ROW + _PAD
    peak = max((value for _, value, _ in bars), default=0)
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="title">'
        ),
        f'<title id="title">{_xml(title)}</title>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<g {_FONT} fill="#1d2330">',
        f'<text x="{_PAD}" y="22" font-size="14" font-weight="bold">{_xml(title)}</text>',
    ]
    if not bars:
        out.append(f'<text x="{_PAD}" y="{_TOP + 15}" fill="#5b6475">no data</text>')
    for i, (label, value, note) in enumerate(bars):
        y = _TOP + i * _ROW
        bar = max(_BAR_W * value / peak, 1.0) if peak and value else 0.0
        out += [
            f'<text x="{x0 - 8}" y="{y + 15}" text-anchor="end">{_xml(_cut(label))}</text>',
            (
                f'<rect class="bar" x="{x0}" y="{y + 4}" width="{bar:.1f}" height="{_ROW - 8}" '
                f'fill="{colour}"><title>{_xml(label)}: {_xml(note)}</title></rect>'
            ),
            f'<text x="{x0 + bar + 6:.1f}" y="{y + 15}" fill="#5b6475">{_xml(note)}</text>',
        ]
    out += ["</g>", "</svg>", ""]
    return "\n".join(out)
