"""Renders a validation Report as one self-contained HTML page: inline CSS and SVG, no script, no fetch.

Verdict first, then reconciliation, the diff versus the parent, every expectation, quarantine and inputs.
It does not run validation or write files (flows/validate.py does both). Everything shown is HTML-escaped, and
only http(s) URLs become links, besides the relative link to the GX Data Docs written beside the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

import polars as pl

from schemas.expectations import URL

if TYPE_CHECKING:
    from flows.validate import Outcome, Report

QUARANTINE_ROWS_SHOWN = 500
RAW_TEXT_SHOWN = 300

# A CSP that forbids every fetch and every script: even if escaping ever failed, the page could not load or
# run anything. Inline styles are the only thing allowed.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#1d2330;background:#f6f7f9}
main{max-width:1280px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.verdict{border-radius:8px;padding:14px 18px;margin:16px 0;color:#fff}
.verdict.ok{background:#1f7a3d}.verdict.blocked{background:#b3261e}
.verdict strong{font-size:18px;display:block}.verdict ul{margin:8px 0 0 18px;padding:0}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #dfe3ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:700;color:#fff}
.pass{background:#1f7a3d}.fail{background:#b3261e}.warn{background:#a15c00}
.blocking{color:#b3261e;font-weight:600}.warning{color:#a15c00;font-weight:600}
tr.failed td{background:#fff4f3}tr.warned td{background:#fff8ec}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;
word-break:break-word}
ul.sample{margin:0;padding-left:16px}.muted{color:#5b6475}
table.narrow{width:auto;min-width:360px}
details{margin:6px 0 12px}summary{cursor:pointer;font-weight:600;padding:4px 0}
.bar{display:block;margin:6px 0 2px}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;
border-radius:2px}
"""


def render_report(
    report: Report,
    *,
    tables_counts: dict,
    context: dict | None,
    quarantine: pl.DataFrame | None = None,
    data_docs_error: str | None = None,
) -> str:
    """The whole report page as a string (UTF-8 HTML, renders offline from file://)."""
    title = f"papers {report.version}: validation report"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        _verdict(report),
        f'<div class="muted">{_e(_summary_line(report))}</div>',
        _outcome_bar(report),
        _moved_to_quarantine(report),
        _warnings(report),
        _reconciliation(tables_counts),
        _diff(context),
        _expectations(report.outcomes),
        _quarantine(quarantine),
        _inputs(context),
        _context({k: v for k, v in (context or {}).items() if k not in _own_sections(context)}),
        _data_docs(report.data_docs, data_docs_error),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def is_http_url(value: Any) -> bool:
    """Whether value may be emitted as a link: an absolute http(s) URL with nothing that could break out."""
    return isinstance(value, str) and re.fullmatch(URL, value) is not None


def _text_or_link(value: Any) -> str:
    if is_http_url(value):
        return f'<a href="{_e(value)}" rel="noopener noreferrer">{_e(value)}</a>'
    if isinstance(value, (dict, list, tuple)):
        return f"<code>{_e(json.dumps(value, default=str, ensure_ascii=False))}</code>"
    return '<span class="muted">—</span>' if value is None else _e(value)


def _breakable(name: str) -> str:
    """An expectation name that wraps after its underscores rather than mid-word."""
    return _e(name).replace("_", "_<wbr>")


def _summary_line(report: Report) -> str:
    s = report.summary()
    moved = sum(s["quarantined_by_record_checks"].values())
    return (
        f"{s['evaluated']} expectations evaluated: {s['passed']} passed, "
        f"{s['failed_blocking']} blocking failure(s), {s['failed_warning']} warning(s)"
        + (f"; {moved:,} raw record(s) moved to quarantine by record-level expectations" if moved else "")
    )


def _where(o: Outcome) -> str:
    return f"{o.table}.{o.column}" if o.column else o.table


_PASS, _WARN, _FAIL = "#1f7a3d", "#a15c00", "#b3261e"


def _outcome_bar(report: Report) -> str:
    """Passed / warned / failed expectations as one inline SVG bar with a legend (no fetch, no script)."""
    s = report.summary()
    parts = [(s["passed"], _PASS, "pass", "passed"), (s["failed_warning"], _WARN, "warn", "warnings"),
             (s["failed_blocking"], _FAIL, "fail", "blocking failures")]
    total, width, x, rects = max(s["evaluated"], 1), 480, 0.0, []
    for n, colour, _, _ in parts:
        if n:
            w = width * n / total
            rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="12" fill="{colour}"/>')
            x += w
    label = ", ".join(f"{n} {what}" for n, _, _, what in parts)
    legend = "".join(f'<span><i class="{cls}"></i>{n:,} {what}</span>' for n, _, cls, what in parts)
    return (
        f'<svg class="bar" width="{width}" height="12" viewBox="0 0 {width} 12" role="img" '
        f'aria-label="{_e(label)}"><rect width="{width}" height="12" fill="#dfe3ea"/>{"".join(rects)}</svg>'
        f'<div class="legend muted">{legend}</div>'
    )


def _verdict(report: Report) -> str:
    if report.success:
        return (
            '<section class="verdict ok"><strong>PUBLISHED-eligible</strong>'
            f"No blocking expectation failed; this version may be published{_warned(report)}.</section>"
        )
    items = "".join(
        f"<li><b>{_e(_where(o))}</b> {_e(o.expectation)}: {_e(o.observed)}{_examples(o)} "
        f"<i>({_e(o.description)})</i></li>"
        for o in report.blocking_failures()
    )
    return (
        '<section class="verdict blocked"><strong>BLOCKED</strong>'
        f"{len(report.blocking_failures())} blocking expectation(s) failed; "
        "this version must not be published."
        f"<ul>{items}</ul></section>"
    )


def _warned(report: Report) -> str:
    n = len(report.warnings())
    return f" ({n} warning{'' if n == 1 else 's'} below)" if n else ""


def _examples(o: Outcome) -> str:
    return f" — e.g. <code>{_e(' | '.join(o.sample[:3]))}</code>" if o.sample else ""


def _moved_to_quarantine(report: Report) -> str:
    """Record-level expectations that moved papers to quarantine: what one bad record no longer blocks."""
    moved = report.quarantining()
    if not moved:
        return ""
    items = "".join(
        f"<li><b>{_e(o.name)}</b> ({_e(_where(o))}): {_e(o.observed)}{_examples(o)}</li>" for o in moved
    )
    return (
        "<h2>Records moved to quarantine (record-level expectations)</h2>"
        "<p>These papers failed an expectation about one record; they left papers, appearances and links, each "
        "of their sightings is a quarantine row whose reason is the expectation's name, and the rest of the "
        f"version is unaffected.</p><ul>{items}</ul>"
    )


def _warnings(report: Report) -> str:
    warned = [o for o in report.warnings() if not o.quarantined]
    if not warned:
        return ""
    items = "".join(
        f"<li><b>{_e(_where(o))}</b> {_e(o.expectation)}: {_e(o.observed)}{_examples(o)}</li>"
        for o in warned
    )
    return f"<h2>Warnings (not blocking)</h2><ul>{items}</ul>"


def _reconciliation(counts: Mapping[str, Any]) -> str:
    rows = "".join(f'<tr><th>{_e(k)}</th><td class="num">{_e(_fmt(v))}</td></tr>' for k, v in counts.items())
    raw, appearances = counts.get("raw_records"), counts.get("appearances")
    quarantined = counts.get("quarantine", counts.get("quarantined"))  # the manifest says "quarantined"
    check = ""
    if all(isinstance(v, int) for v in (raw, appearances, quarantined)):
        accounted = appearances + quarantined
        ok = accounted == raw
        badge = '<span class="badge pass">OK</span>' if ok else '<span class="badge fail">MISMATCH</span>'
        check = (
            f"<p>{badge} raw records {raw:,} {'=' if ok else '≠'} appearances {appearances:,} "
            f"+ quarantined {quarantined:,} = {accounted:,}</p>"
        )
    return f'<h2>Reconciliation</h2>{check}<table class="narrow">{rows}</table>'


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _expectations(outcomes: list[Outcome]) -> str:
    failing = [o for o in outcomes if not o.success]
    # Blocking failures first, then warnings, each in suite order: what a reviewer must act on comes first.
    failing.sort(key=lambda o: not o.blocking)
    passing = [o for o in outcomes if o.success]
    out = ["<h2>Expectations</h2>"]
    if failing:
        out.append(f"<h3>Failed ({len(failing):,})</h3>{_outcome_table(failing)}")
    else:
        out.append(f"<p>All {len(outcomes):,} expectations passed.</p>")
    if passing:
        # Folded with <details>, which needs no script: the failures stay in view, nothing is hidden for good.
        out.append(
            f"<details><summary>Passed ({len(passing):,}) — show each with its observed value</summary>"
            f"{_outcome_table(passing)}</details>"
        )
    return "".join(out)


def _outcome_table(outcomes: list[Outcome]) -> str:
    head = (
        "<tr><th>result</th><th>severity</th><th>kind</th><th>table</th><th>column</th><th>expectation</th>"
        "<th>observed</th><th>sample failing values</th><th>why</th></tr>"
    )
    rows = []
    for o in outcomes:
        if o.success:
            badge, cls = '<span class="badge pass">PASS</span>', ""
        elif o.quarantined:
            badge, cls = '<span class="badge warn">MOVED</span>', ' class="warned"'
        elif o.blocking:
            badge, cls = '<span class="badge fail">FAIL</span>', ' class="failed"'
        else:
            badge, cls = '<span class="badge warn">WARN</span>', ' class="warned"'
        severity = (
            '<span class="blocking">blocking</span>' if o.blocking else '<span class="warning">warning</span>'
        )
        if o.quarantined:
            severity = '<span class="warning">records quarantined</span>'
        kind = f"{_e(o.kind)}<br><span class=\"muted mono\">{_e(o.name)}</span>" if o.name else _e(o.kind)
        sample = (
            '<ul class="sample">' + "".join(f'<li class="mono">{_e(s)}</li>' for s in o.sample) + "</ul>"
            if o.sample and not o.success
            else ""
        )
        rows.append(
            f"<tr{cls}><td>{badge}</td><td>{severity}</td><td>{kind}</td><td>{_e(o.table)}</td>"
            f"<td>{_e(o.column or '')}</td>"
            f'<td class="mono">{_breakable(o.expectation)}</td><td>{_e(o.observed)}</td><td>{sample}</td>'
            f"<td>{_e(o.description)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _quarantine(quarantine: pl.DataFrame | None) -> str:
    if quarantine is None or quarantine.height == 0:
        return "<h2>Quarantine</h2><p>No raw record was quarantined.</p>"
    shown = quarantine.head(QUARANTINE_ROWS_SHOWN)
    rows = []
    for r in shown.iter_rows(named=True):
        raw = r.get("raw_text") or ""
        raw = raw if len(raw) <= RAW_TEXT_SHOWN else raw[:RAW_TEXT_SHOWN] + "…"
        rows.append(
            f'<tr><td class="mono">{_e(r.get("source_path"))}</td><td>{_e(r.get("location"))}</td>'
            f'<td>{_e(r.get("reason"))}</td><td class="mono">{_e(raw)}</td></tr>'
        )
    note = (
        f'<p class="muted">Showing the first {shown.height:,} of {quarantine.height:,} rows; '
        "all of them are in quarantine.parquet.</p>"
        if quarantine.height > shown.height
        else ""
    )
    head = "<tr><th>source_path</th><th>location</th><th>reason</th><th>raw_text (truncated)</th></tr>"
    records = f"{quarantine.height:,} record{'' if quarantine.height == 1 else 's'}"
    return (
        f"<h2>Quarantine ({records})</h2>{_quarantine_reasons(quarantine)}"
        f"<h3>Records</h3>{note}<table>{head}{''.join(rows)}</table>"
    )


def _quarantine_reasons(quarantine: pl.DataFrame) -> str:
    """How many records each reason quarantined, most frequent first, with the files it happened in."""
    by_reason = (
        quarantine.group_by("reason")
        .agg(pl.len().alias("n"), pl.col("source_path").n_unique().alias("files"))
        .sort(["n", "reason"], descending=[True, False])
    )
    rows = "".join(
        f'<tr><td>{_e(reason)}</td><td class="num">{n:,}</td><td class="num">{n / quarantine.height:.1%}</td>'
        f'<td class="num">{files:,}</td></tr>'
        for reason, n, files in by_reason.iter_rows()
    )
    head = "<tr><th>reason</th><th>records</th><th>share</th><th>files</th></tr>"
    return f'<h3>Reasons</h3><table class="narrow">{head}{rows}</table>'


def _own_sections(context: dict | None) -> set[str]:
    """Context keys with a section of their own; any other key lands in "Run context"."""
    # "parent" is named in the diff section's heading, so it is only repeated when there is no diff section.
    return {"inputs"} | ({"diff", "parent"} if context and "diff" in context else set())

_DIFF_ROWS = (
    ("added", "papers new in this version"),
    ("removed", "papers of the parent no longer present"),
    ("reidentified", "papers whose paper_id was refined (the old id is kept in aliases)"),
    ("changed", "papers present in both with at least one field changed"),
    ("unchanged", "papers present in both, identical"),
)


def _diff(context: dict | None) -> str:
    """The diff summary versus the parent, from context["diff"] (None for a first version)."""
    if not context or "diff" not in context:
        return ""
    diff, parent = context["diff"], context.get("parent")
    versus = f" {parent}" if isinstance(parent, str) and parent else ""
    heading = f"<h2>Changes since the parent version{_e(versus)}</h2>"
    if diff is None:
        return heading + "<p>First version: there is no parent to compare with; every paper is new.</p>"
    if not isinstance(diff, dict):
        return heading + f"<p>{_text_or_link(diff)}</p>"
    known = [k for k, _ in _DIFF_ROWS if k in diff]
    rows = "".join(
        f'<tr><th>{_e(k)}</th>{_cell(diff[k])}<td class="muted">{_e(meaning)}</td></tr>'
        for k, meaning in _DIFF_ROWS
        if k in known
    )
    rest = {k: v for k, v in diff.items() if k not in known and k != "changed_fields"}
    rows += "".join(f"<tr><th>{_e(k)}</th><td>{_text_or_link(v)}</td><td></td></tr>" for k, v in rest.items())
    head = "<tr><th>papers</th><th>count</th><th>meaning</th></tr>"
    out = [heading, f'<table class="narrow">{head}{rows}</table>']
    fields = diff.get("changed_fields")
    if isinstance(fields, dict) and fields:
        ordered = sorted(fields.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], int) else 0, str(kv[0])))
        field_rows = "".join(
            f'<tr><td class="mono">{_e(k)}</td><td class="num">{_e(_fmt(v))}</td></tr>' for k, v in ordered
        )
        out.append(
            '<h3>Fields changed</h3><table class="narrow"><tr><th>field</th><th>papers changed</th></tr>'
            f"{field_rows}</table>"
        )
    elif "changed_fields" in diff and not fields:
        out.append('<p class="muted">No field changed in any paper present in both versions.</p>')
    return "".join(out)


_INPUT_COLUMNS = ("path", "format", "records", "quarantined", "announced", "census_shortfall")


def _inputs(context: dict | None) -> str:
    """The raw dumps this version was built from (context["inputs"]: path, sha256, format, records, ...)."""
    if not context or "inputs" not in context:
        return ""
    inputs = context["inputs"]
    if not inputs:
        return '<h2>Inputs</h2><p class="muted">(none)</p>'
    if not all(isinstance(i, dict) for i in inputs):
        return "<h2>Inputs</h2><ul>" + "".join(f"<li>{_text_or_link(v)}</li>" for v in inputs) + "</ul>"
    present = [c for c in _INPUT_COLUMNS if any(c in i for i in inputs)]
    # The 64-hex sha256 goes last: before the counts it pushed the census columns off a laptop screen.
    rest = [c for c in dict.fromkeys(k for i in inputs for k in i) if c not in present]
    columns = present + sorted(rest, key=lambda c: c == "sha256")
    summed = {c for c in ("records", "quarantined") if all(isinstance(i.get(c), int) for i in inputs)}
    totals = ""
    if summed:
        cells = "".join(
            f'<td class="num">{sum(i[c] for i in inputs):,}</td>' if c in summed else "<td></td>"
            for c in columns[1:]
        )
        totals = f"<tr><th>total: {len(inputs):,} file{'' if len(inputs) == 1 else 's'}</th>{cells}</tr>"
    return f"<h2>Inputs</h2>{_records_table(list(inputs), columns, totals)}"


def _context(context: dict | None) -> str:
    if not context:
        return ""
    scalars = {k: v for k, v in context.items() if not isinstance(v, (dict, list, tuple))}
    out = ["<h2>Run context</h2>"]
    if scalars:
        out.append(_key_value_table(scalars))
    for key, value in context.items():
        if key in scalars:
            continue
        out.append(f"<h3>{_e(key)}</h3>")
        if isinstance(value, dict):
            out.append(_key_value_table(value))
        elif value and all(isinstance(v, dict) for v in value):
            out.append(_records_table(list(value)))
        elif value:
            out.append("<ul>" + "".join(f"<li>{_text_or_link(v)}</li>" for v in value) + "</ul>")
        else:
            out.append('<p class="muted">(none)</p>')
    return "".join(out)


def _key_value_table(values: Mapping[Any, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _records_table(records: list[dict], columns: list[str] | None = None, footer: str = "") -> str:
    columns = columns or list(dict.fromkeys(k for r in records for k in r))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in columns) + "</tr>" for r in records)
    return f"<table><tr>{head}</tr>{body}{footer}</table>"


def _cell(value: Any) -> str:
    """One table cell: numbers right-aligned with thousands separators, anything else as text or link."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{_e(_fmt(value))}</td>'
    return f"<td>{_text_or_link(value)}</td>"


def _data_docs(path: str | None, error: str | None) -> str:
    if path:
        return (
            "<h2>Great Expectations Data Docs</h2>"
            f'<p><a href="{_e(path)}">{_e(path)}</a> — the same results in GX\'s own viewer. '
            "It loads its styles "
            "from CDNs, so offline it renders unstyled; this page is the self-contained one.</p>"
        )
    reason = f": {_e(error)}" if error else ""
    return f"<h2>Great Expectations Data Docs</h2><p>Data Docs were not built{reason}.</p>"
