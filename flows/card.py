"""Dataset card: the README.md inside every version — what it is, how to load it, schema, counts, changes.

Pure text rendering from the version's tables and manifest; the caller writes the file.
"""

from __future__ import annotations

import polars as pl

from schemas.tables import PUBLISHED


def _md(value: object) -> str:
    """Make a value safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _share_table(frame: pl.DataFrame, column: str, header: str, limit: int = 12) -> list[str]:
    counts = frame.group_by(column).len().sort(["len", column], descending=[True, False], nulls_last=True)
    total = max(frame.height, 1)
    lines = [f"| {header} | rows | share |", "|---|---:|---:|"]
    for value, n in counts.head(limit).iter_rows():
        lines.append(f"| {_md(value if value is not None else '(none)')} | {n:,} | {n / total:.1%} |")
    return lines


def dataset_card(version: str, tables: dict[str, pl.DataFrame], manifest: dict) -> str:
    """The Markdown dataset card for one version."""
    papers, appearances, links, quarantine = (tables[t] for t in ("papers", "appearances", "links", "quarantine"))
    dates = appearances["digest_date"].drop_nulls()
    date_range = f"{dates.min()} to {dates.max()}" if dates.len() else "unknown"
    diff = manifest.get("diff") or {}
    summary = diff.get("summary")
    out = [
        f"# papers — version {version}",
        "",
        "Research papers collected from raw digest dumps (Hugging Face papers pages, daily-papers JSON, arXiv "
        "listings, feeds), cleaned (Unicode, LaTeX, HTML entities, URLs), deduplicated to one row per paper, "
        "validated by a Great Expectations suite and published as an immutable version.",
        "",
        f"- created: {manifest['created_at']}",
        f"- parent version: {manifest.get('parent') or '(none — first version)'}",
        f"- validation: {'passed' if manifest['validation']['success'] else 'FAILED'} "
        f"({manifest['validation']['passed']} of {manifest['validation']['evaluated']} expectations passed; "
        f"{manifest['validation']['failed_warning']} warnings) — see `report/index.html`",
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
        f"Reconciliation: {manifest['counts']['raw_records']:,} raw records = "
        f"{manifest['counts']['appearances']:,} appearances + {manifest['counts']['quarantined']:,} quarantined.",
        "",
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
    out += ["", "## Sources", "", "| file | format | records | quarantined | sha256 |", "|---|---|---:|---:|---|"]
    for item in manifest["inputs"]:
        out.append(
            f"| {_md(item['path'])} | {item['format']} | {item['records']:,} | {item['quarantined']:,} "
            f"| `{item['sha256'][:12]}` |"
        )
    out += ["", "## Languages", "", *_share_table(papers, "language", "language")]
    out += ["", "## Link kinds", "", *_share_table(links, "kind", "kind")]
    flags = papers.select(pl.col("flags").explode().alias("flag")).drop_nulls()
    out += ["", "## Flags (what cleaning could not fully fix)", ""]
    out += _share_table(flags, "flag", "flag") if flags.height else ["No paper carries a flag."]
    out += ["", "## Quarantine reasons", ""]
    out += _share_table(quarantine, "reason", "reason") if quarantine.height else ["Nothing was quarantined."]
    out += ["", "## Schema", ""]
    for table, schema in PUBLISHED.items():
        out += [f"### {table}", "", "| column | type | nullable | meaning |", "|---|---|---|---|"]
        for field in schema:
            doc = (field.metadata or {}).get(b"doc", b"").decode()
            out.append(f"| `{field.name}` | {field.type} | {'yes' if field.nullable else 'no'} | {_md(doc)} |")
        out.append("")
    return "\n".join(out)
