"""Renders a validation Report as one self-contained HTML page: inline CSS, no scripts, nothing fetched.

It does not run validation or write files (flows/validate.py does both). Everything shown is HTML-escaped, and
only http(s) URLs become links, besides the relative link to the GX Data Docs written beside the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from schemas.expectations import URL

if TYPE_CHECKING:
    import polars as pl

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
        f'<div class="muted">{_e(_summary_line(report))}</div>',
        _verdict(report),
        _warnings(report),
        _reconciliation(tables_counts),
        _expectations(report.outcomes),
        _quarantine(quarantine),
        _context(context),
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


def _summary_line(report: Report) -> str:
    s = report.summary()
    return (
        f"{s['evaluated']} expectations evaluated: {s['passed']} passed, "
        f"{s['failed_blocking']} blocking failure(s), {s['failed_warning']} warning(s)"
    )


def _where(o: Outcome) -> str:
    return f"{o.table}.{o.column}" if o.column else o.table


def _verdict(report: Report) -> str:
    if report.success:
        return (
            '<section class="verdict ok"><strong>PUBLISHED-eligible</strong>'
            "No blocking expectation failed; this version may be published.</section>"
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


def _examples(o: Outcome) -> str:
    return f" — e.g. <code>{_e(' | '.join(o.sample[:3]))}</code>" if o.sample else ""


def _warnings(report: Report) -> str:
    if not report.warnings():
        return ""
    items = "".join(
        f"<li><b>{_e(_where(o))}</b> {_e(o.expectation)}: {_e(o.observed)}{_examples(o)}</li>"
        for o in report.warnings()
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
    return f"<h2>Reconciliation</h2>{check}<table>{rows}</table>"


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _expectations(outcomes: list[Outcome]) -> str:
    head = (
        "<tr><th>result</th><th>severity</th><th>table</th><th>column</th><th>expectation</th>"
        "<th>observed</th><th>sample failing values</th><th>why</th></tr>"
    )
    rows = []
    for o in outcomes:
        if o.success:
            badge, cls = '<span class="badge pass">PASS</span>', ""
        elif o.blocking:
            badge, cls = '<span class="badge fail">FAIL</span>', ' class="failed"'
        else:
            badge, cls = '<span class="badge warn">WARN</span>', ' class="warned"'
        severity = (
            '<span class="blocking">blocking</span>' if o.blocking else '<span class="warning">warning</span>'
        )
        sample = (
            '<ul class="sample">' + "".join(f'<li class="mono">{_e(s)}</li>' for s in o.sample) + "</ul>"
            if o.sample and not o.success
            else ""
        )
        rows.append(
            f"<tr{cls}><td>{badge}</td><td>{severity}</td><td>{_e(o.table)}</td><td>{_e(o.column or '')}</td>"
            f'<td class="mono">{_e(o.expectation)}</td><td>{_e(o.observed)}</td><td>{sample}</td>'
            f"<td>{_e(o.description)}</td></tr>"
        )
    return f"<h2>Expectations</h2><table>{head}{''.join(rows)}</table>"


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
    return f"<h2>Quarantine ({records})</h2>{note}<table>{head}{''.join(rows)}</table>"


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
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_text_or_link(v)}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _records_table(records: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in records for k in r))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text_or_link(r.get(c))}</td>" for c in columns) + "</tr>" for r in records
    )
    return f"<table><tr>{head}</tr>{body}</table>"


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
