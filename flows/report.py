"""Renders a validation Report as its files: one self-contained HTML page, results.json and GX's Data Docs.

The page (flows/templates/report.html.j2) has inline CSS and SVG, no script, no fetch: verdict first, then
reconciliation, the diff versus the parent, every expectation, quarantine and inputs. It is autoescaped, and only
http(s) URLs become links, besides the relative link to the Data Docs written beside it. It does not run
validation (flows/validate.py does); `report_files` returns the files, `write_report` writes them.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from markupsafe import Markup

from flows import facts
from flows.outcome import Report
from flows.templating import html_environment

DATA_DOCS_DIR = "gx_data_docs"
INDEX = "index.html"

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
td.hash{word-break:break-all;min-width:16ch}tr.total th,tr.total td{background:#eef1f5}
"""


def report_files(report: Report) -> dict[str, str | bytes]:
    """The report's files as {path relative to the report directory: text or bytes}."""
    results = {
        "version": report.version,
        "summary": report.summary(),
        "counts": report.counts,
        "parameters": report.parameters,
        "outcomes": [asdict(o) for o in report.outcomes],
        "gx_results": report.gx_results,
    }
    return {
        INDEX: render_report(report),
        # GX results may carry dates and numpy scalars from failing samples.
        "results.json": json.dumps(results, indent=2, default=str),
        **{f"{DATA_DOCS_DIR}/{path}": data for path, data in report.data_docs.items()},
    }


def render_report(report: Report) -> str:
    """The whole report page as a string (UTF-8 HTML, renders offline from file://)."""
    context = report.context or {}
    own = {"inputs"} | ({"diff", "parent"} if "diff" in context else set())
    # "parent" is named in the diff section's heading, so it is only repeated when there is no diff section.
    rest = {k: v for k, v in context.items() if k not in own}
    failing = [o for o in report.outcomes if not o.success]
    # Blocking failures first, then warnings, each in suite order: what a reviewer must act on comes first.
    failing.sort(key=lambda o: not o.blocking)
    page = html_environment().get_template("report.html.j2").render(
        report=report,
        title=f"papers {report.version}: validation report",
        # Constants of this module, not data: inserted verbatim (the CSP's quotes stay quotes).
        csp=Markup(_CSP),
        css=Markup(_CSS),
        summary_line=_summary_line(report),
        bar=_outcome_bar(report),
        warned=[o for o in report.warnings() if not o.quarantined],
        reconciliation=_reconciliation(report.counts),
        diff=facts.diff_summary(context["diff"], context.get("parent")) if "diff" in context else None,
        failing=failing,
        passing=[o for o in report.outcomes if o.success],
        inputs=facts.inputs_table(context["inputs"]) if "inputs" in context else None,
        run_context=_run_context(rest),
        data_docs_index=f"{DATA_DOCS_DIR}/{INDEX}",
    )
    return page


def _summary_line(report: Report) -> str:
    s = report.summary()
    moved = sum(s["quarantined_by_record_checks"].values())
    return (
        f"{s['evaluated']} expectations evaluated: {s['passed']} passed, "
        f"{s['failed_blocking']} blocking failure(s), {s['failed_warning']} warning(s)"
        + (f"; {moved:,} raw record(s) moved to quarantine by record-level expectations" if moved else "")
    )


_PASS, _WARN, _FAIL = "#1f7a3d", "#a15c00", "#b3261e"


def _outcome_bar(report: Report) -> dict:
    """Passed / warned / failed expectations as the segments of one inline SVG bar, with its legend."""
    s = report.summary()
    parts = [(s["passed"], _PASS, "pass", "passed"), (s["failed_warning"], _WARN, "warn", "warnings"),
             (s["failed_blocking"], _FAIL, "fail", "blocking failures")]
    total, width, x, rects = max(s["evaluated"], 1), 480, 0.0, []
    for n, colour, _, _ in parts:
        if n:
            w = width * n / total
            rects.append((f"{x:.1f}", f"{w:.1f}", colour))
            x += w
    return {
        "width": width,
        "rects": rects,
        "label": ", ".join(f"{n} {what}" for n, _, _, what in parts),
        "legend": [(n, cls, what) for n, _, cls, what in parts],
    }


def _reconciliation(counts: dict) -> dict | None:
    """raw records = appearances + quarantined, when the counts say all three."""
    raw, appearances = counts.get("raw_records"), counts.get("appearances")
    quarantined = counts.get("quarantine", counts.get("quarantined"))  # the manifest says "quarantined"
    if not all(isinstance(v, int) for v in (raw, appearances, quarantined)):
        return None
    accounted = appearances + quarantined
    return {"raw": raw, "appearances": appearances, "quarantined": quarantined, "accounted": accounted,
            "ok": accounted == raw}


def _run_context(context: dict) -> dict | None:
    """Context keys without a section of their own: scalars in one table, then one block per other key."""
    if not context:
        return None
    scalars = {k: v for k, v in context.items() if not isinstance(v, (dict, list, tuple))}
    nested = []
    for key, value in context.items():
        if key in scalars:
            continue
        records = not isinstance(value, dict) and value and all(isinstance(v, dict) for v in value)
        columns = list(dict.fromkeys(k for r in value for k in r)) if records else None
        nested.append((key, value, columns))
    return {"scalars": scalars, "nested": nested}
