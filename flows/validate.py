"""Validation gate: runs the suite of schemas/expectations.py on a candidate version and writes its report.

All Great Expectations ceremony lives here (one ephemeral context per call, one validation run per table,
Data Docs into the report directory); callers get a plain Report. It never raises on a failing expectation
and never publishes: the pipeline raises ValidationBlocked when Report.success is False.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flows import census
from flows.record_checks import Moved, with_moved
from flows.report import render_report
from schemas.expectations import (
    APPEARANCES_ROWS,
    CENSUS_LOST_WHOLE,
    CENSUS_SHORTFALL,
    COLUMN_TYPES,
    EXPECTED_APPEARANCES,
    IDLESS_UI_LABELS,
    INVISIBLE,
    KEYS_EXIST,
    NOT_MATCH_REGEX,
    NULL_SHARE_JUMP,
    QUARANTINE_SHARE,
    ROW_COUNT_DROP,
    SUITE,
    TOP_LANGUAGE_SHIFT,
    Check,
)
from schemas.tables import PUBLISHED, polars_schema, row_count

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

DATA_DOCS_DIR = "gx_data_docs"
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Outcome:
    """One expectation's result, in words a reviewer can act on."""

    table: str
    expectation: str
    column: str | None
    blocking: bool
    success: bool
    observed: str
    sample: list[str]
    description: str
    kind: str = "dataset"  # "record" or "dataset", as the suite declares it
    quarantined: int = 0  # raw records this record check moved to quarantine before the tables were checked
    name: str | None = None  # the check's stable name (record checks: the quarantine reason)


@dataclass(frozen=True)
class Report:
    """Everything the suite found about one candidate version, and where the report was written."""

    version: str
    success: bool
    outcomes: list[Outcome]
    report_dir: Path
    data_docs: str | None = None  # Data Docs index, relative to report_dir; None when they could not be built

    def blocking_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.blocking and not o.success]

    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.blocking and not o.success]

    def quarantining(self) -> list[Outcome]:
        """Record checks whose offending records were moved to quarantine (the version publishes without them)."""
        return [o for o in self.outcomes if o.quarantined]

    def summary(self) -> dict:
        return {
            "evaluated": len(self.outcomes),
            "passed": sum(o.success for o in self.outcomes),
            "failed_blocking": len(self.blocking_failures()),
            "failed_warning": len(self.warnings()),
            "quarantined_by_record_checks": {o.name: o.quarantined for o in self.quarantining()},
            "success": self.success,
        }


class ValidationBlocked(Exception):
    """A candidate version failed a blocking expectation; raised by the pipeline, carries the Report."""

    def __init__(self, message: str | None, report: Report) -> None:
        self.report = report
        super().__init__(message or blocked_message(report))


def blocked_message(report: Report) -> str:
    """One line naming what blocked a version (table.column and expectation) and where its report is."""
    failures = report.blocking_failures()
    # The census names the file it is about: said here, so the one line names it too.
    named = ", ".join(
        f"{o.table}.{o.column or '*'} {o.expectation}"
        + (f": {o.sample[0]}" if o.expectation == CENSUS_LOST_WHOLE and o.sample else "")
        for o in failures[:3]
    )
    more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
    return (
        f"version {report.version} blocked: {len(failures)} blocking expectation(s) failed ({named}{more}); "
        f"report: {report.report_dir / 'index.html'}"
    )


def validate_version(
    tables: dict[str, pl.DataFrame | pl.LazyFrame],
    *,
    version: str,
    raw_records: int,
    parent: dict[str, pl.DataFrame] | None,
    report_dir: Path,
    context: dict | None = None,
    blocking_warnings: frozenset[str] = frozenset(),
    moved: Mapping[str, Moved] | None = None,
) -> Report:
    """Run the whole suite on a candidate; write report_dir/{index.html,results.json,gx_data_docs/}.

    `blocking_warnings` names warning checks (e.g. "row_count_drop_vs_parent") that block for this run.
    `moved` says, per record check name, what flows/record_checks.py moved to quarantine before: such a check
    is reported as failed but not blocking when nothing offending is left (and blocking if anything is).
    Census checks read the inputs' counts from context["inputs"] (manifest input rows).
    """
    missing = set(PUBLISHED) - set(tables)
    if missing:
        raise ValueError(f"validate_version needs tables {sorted(PUBLISHED)}; missing {sorted(missing)}")
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    parameters = {
        EXPECTED_APPEARANCES: raw_records - row_count(tables["quarantine"]),
        APPEARANCES_ROWS: row_count(tables["appearances"]),
    }
    gx_checks = [(i, c) for i, c in enumerate(SUITE) if c.is_gx]
    inputs = (context or {}).get("inputs")
    by_index: dict[int, Outcome] = {
        i: _computed_outcome(c, tables, raw_records=raw_records, parent=parent, inputs=inputs)
        for i, c in enumerate(SUITE)
        if not c.is_gx
    }
    gx_outcomes, gx_results, data_docs, docs_error = _run_gx(
        gx_checks, tables, parameters=parameters, version=version, docs_dir=(report_dir / DATA_DOCS_DIR).resolve()
    )
    by_index.update(gx_outcomes)
    outcomes = [
        dataclasses.replace(o, blocking=True) if o.expectation in blocking_warnings else o
        for o in (by_index[i] for i in range(len(SUITE)))
    ]
    outcomes = [with_moved(o, c, (moved or {}).get(c.name)) for o, c in zip(outcomes, SUITE, strict=True)]
    report = Report(
        version=version,
        success=not any(o.blocking and not o.success for o in outcomes),
        outcomes=outcomes,
        report_dir=report_dir,
        data_docs=data_docs,
    )
    counts = {"raw_records": raw_records, **{name: row_count(frame) for name, frame in tables.items()}}
    (report_dir / "results.json").write_text(
        json.dumps(
            {
                "version": version,
                "summary": report.summary(),
                "counts": counts,
                "parameters": parameters,
                "outcomes": [asdict(o) for o in outcomes],
                "gx_results": gx_results,
            },
            indent=2,
            default=str,  # GX results may carry dates and numpy scalars from failing samples
        )
    )
    html = render_report(
        report,
        tables_counts=counts,
        context=context,
        quarantine=tables["quarantine"].lazy().collect(),
        data_docs_error=docs_error,
    )
    (report_dir / "index.html").write_text(html, encoding="utf-8")
    return report


# --- Great Expectations -------------------------------------------------------------------------------------


def imported_in_background() -> threading.Thread:
    """Start importing Great Expectations in a thread (~4-7 s), to overlap work that leaves this process idle."""
    thread = threading.Thread(target=_import_gx, name="import-great-expectations", daemon=True)
    thread.start()
    return thread


def _import_gx() -> None:
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401


def _run_gx(
    checks: list[tuple[int, Check]],
    tables: dict[str, pl.DataFrame],
    *,
    parameters: dict[str, int],
    version: str,
    docs_dir: Path,
) -> tuple[dict[int, Outcome], dict[str, Any], str | None, str | None]:
    """Run the GX checks, one validation per table, and build Data Docs; returns outcomes by suite index."""
    # Imported here: GX takes ~2 s to import, and the CLI's --help and the other stages should not pay for it.
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.execution_engine import pandas_execution_engine

    # GX md5s every pandas batch under HASH_THRESHOLD bytes as a lineage marker ("pandas_data_fingerprint"):
    # ~5 s at a million papers, for a fingerprint nothing reads. The manifest's sha256s identify the data.
    pandas_execution_engine.HASH_THRESHOLD = 0

    ctx = gx.get_context(mode="ephemeral", project_config=_context_config(docs_dir))
    source = ctx.data_sources.add_pandas("candidate")
    run_id = RunIdentifier(run_name=version, run_time=dt.datetime.now(dt.UTC))
    per_table: dict[str, list[tuple[int, Check]]] = defaultdict(list)
    for i, check in checks:
        per_table[check.table].append((i, check))

    outcomes: dict[int, Outcome] = {}
    results: dict[str, Any] = {}
    for table, table_checks in per_table.items():
        frame = tables[table]
        suite = ctx.suites.add(
            gx.ExpectationSuite(name=table, expectations=[_expectation(i, c) for i, c in table_checks])
        )
        batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(table)
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=table, data=batch, suite=suite)
        )
        reads = {col for _, c in table_checks for col in c.columns}
        result = definition.run(
            batch_parameters={"dataframe": _pandas_batch(frame, reads)},
            expectation_parameters=parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
            run_id=run_id,
        )
        results[table] = result.to_json_dict()
        checks_by_index = dict(table_checks)
        for r in result.results:
            i = r.expectation_config.meta["suite_index"]
            outcomes[i] = _gx_outcome(checks_by_index[i], r)

    try:
        _escape_unexpected_values(ctx.validation_results_store)
        ctx.build_data_docs()
        data_docs, docs_error = f"{DATA_DOCS_DIR}/index.html", None
    except Exception as exc:  # noqa: BLE001 — Data Docs are a courtesy view; a renderer bug must not hide the verdict
        log.warning("GX Data Docs could not be built: %s", exc)
        data_docs, docs_error = None, f"{type(exc).__name__}: {exc}"
    return outcomes, results, data_docs, docs_error


def _escape_unexpected_values(store) -> None:
    """HTML-escape the failing values GX keeps for Data Docs (GX 1.24.1 writes them into its pages raw)."""
    # GX escapes its string-template parameters but emits table cells through View.render_content_block, which
    # returns a str as-is: a title `<script>...` in partial_unexpected_list becomes live markup (SPEC §8). The
    # stored copy is the one Data Docs read; results.json and the Outcomes keep the raw values.
    for key in store.list_keys():
        stored = store.get(key)
        for r in stored.results:
            res = r.result or {}
            for field in ("partial_unexpected_list", "unexpected_list", "observed_value"):
                if res.get(field):
                    res[field] = _escaped(res[field])
            if res.get("partial_unexpected_counts"):
                res["partial_unexpected_counts"] = [
                    {**c, "value": _escaped(c.get("value"))} for c in res["partial_unexpected_counts"]
                ]
        store.set(key, stored)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_escaped(v) for v in value)
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value


def _context_config(docs_dir: Path):
    """In-memory stores, one Data Docs site in the report directory, no progress bars, no analytics."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={
            "report": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        # GX 1.24 ships no analytics client any more; the key survives in the config, so say no anyway.
        analytics_enabled=False,
    )


def _expectation(index: int, check: Check):
    import great_expectations.expectations as gxe

    cls = getattr(gxe, check.expectation)
    return cls(
        **check.kwargs,
        description=check.description,
        severity="critical" if check.blocking else "warning",
        meta={"suite_index": index, "blocking": check.blocking},
    )


def _pandas_batch(frame: pl.DataFrame | pl.LazyFrame, reads: set[str]) -> pd.DataFrame:
    """The frame for GX: every column name in order, values only in the columns some expectation reads."""
    import pandas as pd
    import pyarrow as pa

    # GX's pandas engine copies the whole batch for each expectation, so the columns no expectation reads
    # (e.g. 1 GB of abstract_raw at 1M rows) become zero-byte null columns: the column-order check stays real
    # without doubling memory. `reads` is derived from the suite, so no expectation can read a placeholder.
    columns = frame.collect_schema().names()
    read = frame.lazy().select([c for c in columns if c in reads]).collect()
    data = read.to_arrow().to_pandas(types_mapper=_pandas_dtype, date_as_object=False)
    del read
    null = pd.arrays.ArrowExtensionArray(pa.nulls(row_count(frame)))
    return pd.DataFrame({c: data[c] if c in reads else pd.Series(null, copy=False) for c in columns})


def _pandas_dtype(arrow_type):
    """The pandas dtype GX gets for an Arrow type: the one that keeps GX's batch fingerprint cheap."""
    import pandas as pd
    import pyarrow as pa

    # GX md5s every pandas batch under 1 GB (pandas_execution_engine.HASH_THRESHOLD) through
    # hash_pandas_object: pandas' "str" hashes 2x faster than ArrowDtype strings, and numpy datetime64 25x
    # faster than ArrowDtype dates (None = pyarrow's default, datetime64[ms] with date_as_object=False).
    if arrow_type in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow", na_value=float("nan"))
    if pa.types.is_date(arrow_type):
        return None
    return pd.ArrowDtype(arrow_type)


def _gx_outcome(check: Check, r) -> Outcome:
    result = r.result or {}
    exc = r.exception_info or {}
    messages = _exception_messages(exc)
    if messages:
        observed, sample = "could not evaluate: " + messages[0], messages[1:SAMPLE_SIZE]
    elif "unexpected_count" in result:
        observed, sample = _map_observed(check, result), _map_sample(check, result)
    else:
        observed, sample = _aggregate_observed(check, result, r.expectation_config.kwargs), []
    return Outcome(
        table=check.table,
        expectation=r.expectation_config.type,
        column=_column_label(check),
        blocking=check.blocking,
        success=bool(r.success),
        observed=observed,
        sample=sample,
        description=check.description,
        kind=check.kind,
    )


def _exception_messages(info: dict) -> list[str]:
    """GX nests exceptions per metric when several fail; flatten to their distinct one-line messages."""
    if info.get("raised_exception"):
        found = [info.get("exception_message") or "unknown error"]
    else:
        found = [v.get("exception_message") or "unknown error" for v in info.values() if isinstance(v, dict)]
    return list(dict.fromkeys(str(m).strip().splitlines()[0] if str(m).strip() else "error" for m in found))


def _map_observed(check: Check, result: dict) -> str:
    bad, rows, nulls = (
        result["unexpected_count"],
        result.get("element_count", 0),
        result.get("missing_count", 0),
    )
    if check.expectation == "ExpectColumnValuesToNotBeNull":
        return f"{bad:,} of {rows:,} rows null ({_pct(bad, rows)})"
    if "missing_count" not in result or check.expectation == "ExpectCompoundColumnsToBeUnique":
        return f"{bad:,} of {rows:,} rows unexpected ({_pct(bad, rows)})"
    text = f"{bad:,} of {rows - nulls:,} non-null values unexpected ({_pct(bad, rows - nulls)})"
    if nulls:
        text += f"; {nulls:,} null skipped"
    if "mostly" in check.kwargs:
        text += f"; allowed up to {1 - check.kwargs['mostly']:.0%}"
    return text


def _map_sample(check: Check, result: dict) -> list[str]:
    if check.expectation == "ExpectColumnValuesToNotBeNull":
        return [f"row {i}" for i in result.get("partial_unexpected_index_list") or []][:SAMPLE_SIZE]
    values = result.get("partial_unexpected_list") or []
    if check.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        a, b = check.kwargs["column_A"], check.kwargs["column_B"]
        values = [f"{a}={_short(v[0])}, {b}={_short(v[1])}" for v in values]
    elif check.expectation == "ExpectCompoundColumnsToBeUnique":
        values = [
            ", ".join(f"{k}={_short(x)}" for k, x in v.items()) if isinstance(v, dict) else v for v in values
        ]
    return list(dict.fromkeys(_short(v) for v in values))[:SAMPLE_SIZE]


def _aggregate_observed(check: Check, result: dict, kwargs: dict) -> str:
    observed = result.get("observed_value")
    if check.expectation == "ExpectTableColumnsToMatchOrderedList":
        return _columns_observed(list(kwargs.get("column_list") or []), list(observed or []))
    if check.expectation == "ExpectTableRowCountToEqual":
        return f"{_int(observed)} rows (expected {_int(kwargs.get('value'))})"
    if check.expectation == "ExpectColumnSumToBeBetween":
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        want = _int(lo) if lo == hi else f"{_int(lo)}..{_int(hi)}"
        return f"sum {_int(observed)} (expected {want})"
    return f"observed {_short(observed)}"


def _columns_observed(want: list[str], got: list[str]) -> str:
    if want == got:
        return f"{len(got)} columns, in contract order"
    parts = []
    if missing := [c for c in want if c not in got]:
        parts.append("missing " + ", ".join(missing))
    if extra := [c for c in got if c not in want]:
        parts.append("unexpected " + ", ".join(extra))
    if not parts:
        parts.append("out of order: " + ", ".join(got))
    return "; ".join(parts)


def _column_label(check: Check) -> str | None:
    if "column" in check.kwargs:
        return check.kwargs["column"]
    if "column_A" in check.kwargs:
        return f"{check.kwargs['column_A']}, {check.kwargs['column_B']}"
    if "column_list" in check.kwargs and check.expectation != "ExpectTableColumnsToMatchOrderedList":
        return ", ".join(check.kwargs["column_list"])
    return None


# --- Computed checks (Polars) -------------------------------------------------------------------------------


def _computed_outcome(
    check: Check, tables: dict[str, pl.DataFrame], *, raw_records: int, parent: dict[str, pl.DataFrame] | None,
    inputs: list[dict] | None = None,
) -> Outcome:
    compute = {
        COLUMN_TYPES: lambda: _column_types(tables[check.table], check.table),
        KEYS_EXIST: lambda: _keys_exist(tables[check.table], tables["papers"], check.kwargs["column"]),
        ROW_COUNT_DROP: lambda: _row_count_drop(
            tables[check.table], _parent_frame(parent, check.table), check
        ),
        NULL_SHARE_JUMP: lambda: _null_share_jump(
            tables[check.table], _parent_frame(parent, check.table), check
        ),
        TOP_LANGUAGE_SHIFT: lambda: _top_share_shift(
            tables[check.table], _parent_frame(parent, check.table), check
        ),
        QUARANTINE_SHARE: lambda: _quarantine_share(tables[check.table], raw_records, check),
        NOT_MATCH_REGEX: lambda: _not_match_regex(tables[check.table], check),
        IDLESS_UI_LABELS: lambda: _idless_ui_labels(tables[check.table], check),
        CENSUS_LOST_WHOLE: lambda: census.no_input_lost_whole(inputs),
        CENSUS_SHORTFALL: lambda: census.inputs_reach_their_census(inputs),
    }[check.expectation]
    try:
        success, observed, sample = compute()
    except (pl.exceptions.PolarsError, KeyError) as exc:
        # A broken schema shows up here as a missing column: the check fails, it does not crash the gate.
        success, observed, sample = (
            False,
            f"could not evaluate: {type(exc).__name__}: {exc}".splitlines()[0],
            [],
        )
    return Outcome(
        table=check.table,
        expectation=check.expectation,
        column=_column_label(check),
        blocking=check.blocking,
        success=success,
        observed=observed,
        sample=sample,
        description=check.description,
        kind=check.kind,
    )


Computed = tuple[bool, str, list[str]]


def _parent_frame(parent: dict[str, pl.DataFrame] | None, table: str) -> pl.DataFrame | None:
    return None if parent is None else parent.get(table)


def _column_types(frame: pl.DataFrame | pl.LazyFrame, table: str) -> Computed:
    want, got = polars_schema(PUBLISHED[table]), frame.collect_schema()
    problems = [f"{c}: missing (contract {t})" for c, t in want.items() if c not in got]
    problems += [f"{c}: {got[c]} (contract {t})" for c, t in want.items() if c in got and got[c] != t]
    problems += [f"{c}: not in the contract" for c in got if c not in want]
    if not problems:
        return True, f"all {len(want)} columns have the contract's types", []
    return False, f"{len(problems)} column(s) off contract", problems[:SAMPLE_SIZE]


def _keys_exist(frame: pl.DataFrame | pl.LazyFrame, papers: pl.DataFrame | pl.LazyFrame, column: str) -> Computed:
    known = papers.lazy().select("paper_id").unique()
    orphans = frame.lazy().select(column).join(known, left_on=column, right_on="paper_id", how="anti").collect()
    bad, height = orphans.height, row_count(frame)
    observed = f"{bad:,} of {height:,} rows point at no paper ({_pct(bad, height)})"
    sample = [_short(v) for v in orphans.get_column(column).unique(maintain_order=True).head(SAMPLE_SIZE)]
    return bad == 0, observed, sample


def _not_match_regex(frame: pl.DataFrame | pl.LazyFrame, check: Check) -> Computed:
    column, regex = check.kwargs["column"], check.kwargs["regex"]
    counted = frame.lazy().select(
        pl.col(column).is_not_null().sum().alias("values"),
        pl.col(column).filter(pl.col(column).str.contains(regex)).implode().alias("bad"),
    ).collect()
    values, bad = counted["values"], counted["bad"].explode().drop_nulls()
    observed = (
        f"{bad.len():,} of {values.item():,} non-null values unexpected ({_pct(bad.len(), values.item())})"
    )
    if nulls := row_count(frame) - values.item():
        observed += f"; {nulls:,} null skipped"
    return bad.is_empty(), observed, list(dict.fromkeys(_short(v) for v in bad.head(SAMPLE_SIZE)))


def _idless_ui_labels(papers: pl.DataFrame | pl.LazyFrame, check: Check) -> Computed:
    column, regex, max_words = check.kwargs["column"], check.kwargs["regex"], check.kwargs["max_words"]
    idless = (
        papers.lazy()
        .filter(pl.col("arxiv_id").is_null() & pl.col(column).is_not_null())
        .select(column, "flags", pl.col("abstract").is_null().alias("no_abstract"))
        .collect()
    )
    title = pl.col(column)
    # A known label, or a card's caption: a reader found no id where a paper would have one, no abstract, and a
    # title of a few words.
    caption = (
        pl.col("flags").list.contains("arxiv_id_missing")
        & pl.col("no_abstract")
        & (title.str.count_matches(r"\S+") <= max_words)
    )
    bad = idless.filter(title.str.contains(regex) | caption).get_column(column)
    observed = f"{bad.len():,} of {idless.height:,} papers without an arXiv id are titled like a page label"
    return bad.is_empty(), observed, list(dict.fromkeys(_short(v) for v in bad.head(SAMPLE_SIZE)))


def _no_parent() -> Computed:
    return True, "no parent version to compare with", []


def _not_in_parent(column: str) -> Computed:
    # A parent published before the column existed has nothing to compare with; that is not drift.
    return True, f"the parent version has no {column} column to compare with", []


def _row_count_drop(frame: pl.DataFrame, before: pl.DataFrame | None, check: Check) -> Computed:
    if before is None:
        return _no_parent()
    now, prev = row_count(frame), row_count(before)
    drop = (prev - now) / prev if prev else 0.0
    return drop <= check.kwargs["max_drop"], f"{now:,} rows vs {prev:,} in the parent ({-drop:+.1%})", []


def _null_share(frame: pl.DataFrame | pl.LazyFrame, column: str) -> float:
    counted = frame.lazy().select(pl.col(column).null_count().alias("nulls"), pl.len().alias("rows")).collect()
    nulls, rows = counted.row(0)
    return nulls / rows if rows else 0.0


def _null_share_jump(frame: pl.DataFrame, before: pl.DataFrame | None, check: Check) -> Computed:
    if before is None:
        return _no_parent()
    column = check.kwargs["column"]
    if column not in before.collect_schema().names():
        return _not_in_parent(column)
    now, prev = _null_share(frame, column), _null_share(before, column)
    observed = f"{now:.1%} null vs {prev:.1%} in the parent ({(now - prev) * 100:+.1f} points)"
    return now - prev <= check.kwargs["max_jump"], observed, []


def _value_shares(frame: pl.DataFrame | pl.LazyFrame, column: str) -> dict[str, float]:
    values = frame.lazy().select(pl.col(column).drop_nulls()).collect().to_series()
    if values.is_empty():
        return {}
    counts = values.value_counts(sort=True, name="n")
    return {str(v): n / values.len() for v, n in counts.iter_rows()}


def _top_share_shift(frame: pl.DataFrame, before: pl.DataFrame | None, check: Check) -> Computed:
    if before is None:
        return _no_parent()
    column = check.kwargs["column"]
    if column not in before.collect_schema().names():
        return _not_in_parent(column)
    prev_shares, now_shares = _value_shares(before, column), _value_shares(frame, column)
    if not prev_shares:
        return True, f"the parent has no {column} values to compare with", []
    top = next(iter(prev_shares))
    prev, now = prev_shares[top], now_shares.get(top, 0.0)
    observed = f"{top}: {prev:.1%} of papers in the parent, {now:.1%} now ({(now - prev) * 100:+.1f} points)"
    sample = [f"{v}: {s:.1%}" for v, s in list(now_shares.items())[:SAMPLE_SIZE]]
    return abs(now - prev) <= check.kwargs["max_shift"], observed, sample


def _quarantine_share(frame: pl.DataFrame | pl.LazyFrame, raw_records: int, check: Check) -> Computed:
    height = row_count(frame)
    share = height / raw_records if raw_records else 0.0
    observed = f"{height:,} of {raw_records:,} raw records quarantined ({share:.1%})"
    reasons = frame.lazy().select("reason").collect().to_series().value_counts(sort=True, name="n").head(SAMPLE_SIZE)
    sample = [f"{_short(r)} (x{n:,})" for r, n in reasons.iter_rows()]
    return share <= check.kwargs["max_share"], observed, sample


# --- formatting ---------------------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def _int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return _short(value)


def _short(value: Any, limit: int = 200) -> str:
    """A sample value as one readable line: nulls named, invisible characters shown, long text cut."""
    missing = (
        value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and value != value)
    )
    # numpy/pandas render a date column's midnight times, which say nothing here.
    text = "null" if missing else str(value).removesuffix("T00:00:00.000").removesuffix(" 00:00:00")
    text = text.translate(_SHOW_INVISIBLE)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# NBSP and zero-width characters would be invisible in a sample that failed because of them.
_SHOW_INVISIBLE = {ord(c): f"⟨U+{ord(c):04X}⟩" for c in INVISIBLE.strip("[]")}
