"""Dataset card: the README.md inside every version — what it is, how to load it, schema, counts, changes.

Pure text rendering from the version's tables and manifest (flows/templates/card.md.j2, which shares the diff,
inputs and quarantine-reason facts with the validation report through facts.md.j2), plus the card's small SVG
plots (`card_plots`); the caller writes the files. Nothing here reads or writes the filesystem.
"""

from __future__ import annotations

import re
from html import escape

import polars as pl

from flows import facts, identity
from flows.templating import markdown_environment
from schemas.expectations import DATASET, RECORD, SUITE
from schemas.tables import PUBLISHED

# Where the plots go, relative to README.md; the card links them with relative Markdown image links.
DIGEST_DATES_PLOT = "plots/digest_dates.svg"
LANGUAGES_PLOT = "plots/languages.svg"

MAX_DATE_BARS = 62  # beyond two months of daily digests one bar per date stops being readable: bars per month
MAX_LANGUAGE_BARS = 12
SHARES_SHOWN = 12  # rows of a share table (languages, link kinds, flags, quarantine reasons) before "N more"
NO_LANGUAGE = "(undetected)"
NO_DATE = "(no date)"


def dataset_card(version: str, tables: dict[str, pl.DataFrame], manifest: dict) -> str:
    """The Markdown dataset card for one version; its plots (card_plots) are linked as relative images."""
    papers, appearances, links, quarantine = (tables[t] for t in ("papers", "appearances", "links", "quarantine"))
    dates = appearances["digest_date"].drop_nulls()
    diff = manifest.get("diff")
    # The manifest carries the whole diff (flows/diff.py); the card shows its summary.
    summary = diff.get("summary", diff) if diff else None
    flags = papers.select(pl.col("flags").explode().alias("flag")).drop_nulls()
    card = markdown_environment().get_template("card.md.j2").render(
        version=version,
        manifest=manifest,
        validation=manifest["validation"],
        date_range=f"{dates.min()} to {dates.max()}" if dates.len() else "unknown",
        rows={t: frame.height for t, frame in tables.items()},
        expectations=_expectation_kinds(manifest["validation"]),
        census=manifest["counts"].get("census"),
        diff=facts.diff_summary(summary, manifest.get("parent")),
        formats=_formats(manifest["inputs"]),
        inputs=facts.inputs_table(manifest["inputs"]),
        plots={"dates": DIGEST_DATES_PLOT, "languages": LANGUAGES_PLOT},
        languages=_shares(papers, "language", "language", null_label=NO_LANGUAGE),
        link_kinds=_shares(links, "kind", "kind"),
        flags=_shares(flags, "flag", "flag"),
        quarantine_reasons=facts.quarantine_reasons(quarantine) if quarantine.height else [],
        reasons_shown=SHARES_SHOWN,
        rules=[f"{field}: {rule}" for field, rule in identity.FIELD_PRECEDENCE],
        schema=[(table, [_column(f) for f in schema]) for table, schema in PUBLISHED.items()],
    )
    return card.rstrip("\n") + "\n"


def _column(field) -> tuple[str, str, bool, str]:
    """A contract column as the card's schema table shows it: name, type, nullable, meaning."""
    return field.name, str(field.type), field.nullable, (field.metadata or {}).get(b"doc", b"").decode()


def _shares(frame: pl.DataFrame, column: str, header: str, null_label: str = "(none)") -> dict:
    """Rows per value of one column, most frequent first; past SHARES_SHOWN values, the rest in one row."""
    counts = frame.group_by(column).len().sort(["len", column], descending=[True, False], nulls_last=True)
    total = max(frame.height, 1)
    rows = [(value if value is not None else null_label, n, n / total)
            for value, n in counts.head(SHARES_SHOWN).iter_rows()]
    more = None
    if counts.height > SHARES_SHOWN:
        rest = counts.tail(counts.height - SHARES_SHOWN)["len"].sum()
        more = {"values": counts.height - SHARES_SHOWN, "rows": rest, "share": rest / total}
    return {"header": header, "rows": rows, "more": more}


def _expectation_kinds(validation: dict) -> dict:
    """The blocking checks of each kind, and what record checks moved to quarantine in this version."""
    return {
        "record": [c.name for c in SUITE if c.kind == RECORD and c.blocking],
        "dataset": [c for c in SUITE if c.kind == DATASET and c.blocking],
        "moved": validation.get("quarantined_by_record_checks") or {},
    }


def _formats(inputs: list[dict]) -> list[tuple[str, int, int, int]]:
    """(format, files, records, quarantined) per input format, by name."""
    by_format: dict[str, list[int]] = {}
    for item in inputs:
        files_records_quarantined = by_format.setdefault(item["format"], [0, 0, 0])
        files_records_quarantined[0] += 1
        files_records_quarantined[1] += item["records"]
        files_records_quarantined[2] += item["quarantined"]
    return [(f, n, r, q) for f, (n, r, q) in sorted(by_format.items())]


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
