"""The Great Expectations adapter: the suite's GX checks built as expectations, run on pandas batches, and their
results turned into Outcomes.

All GX ceremony lives here (one ephemeral context per run, one validation per table, Data Docs built into a
temporary directory and handed back as bytes). It does not decide what blocks (the suite does), computes no
check GX cannot express (flows/computed_checks.py does) and writes nothing that outlives the call.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flows.outcome import SAMPLE_SIZE, Outcome, column_label, pct, short
from schemas.expectations import Check
from schemas.tables import row_count

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GxRun:
    """What one GX run gives back: Outcomes by suite index, GX's own results, the Data Docs site."""

    outcomes: dict[int, Outcome]
    results: dict[str, Any]
    data_docs: dict[str, bytes] = field(default_factory=dict)  # {path relative to the site: bytes}
    docs_error: str | None = None


_importing: threading.Thread | None = None


def imported_in_background() -> threading.Thread:
    """Start importing Great Expectations in a thread (~3-7 s), to overlap work that leaves this process idle;
    once per process (a later call returns the thread already started)."""
    global _importing
    if _importing is None:
        _importing = threading.Thread(target=_import_gx, name="import-great-expectations", daemon=True)
        _importing.start()
    return _importing


def _import_gx() -> None:
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401


def gx_run(
    checks: list[tuple[int, Check]],
    tables: dict[str, pl.DataFrame | pl.LazyFrame],
    *,
    parameters: dict[str, int],
    version: str,
) -> GxRun:
    """Run the GX checks (with their suite index), one validation per table, and build Data Docs."""
    # Imported here: GX takes ~2 s to import, and the CLI's --help and the other stages should not pay for it.
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.execution_engine import pandas_execution_engine

    # GX md5s every pandas batch under HASH_THRESHOLD bytes as a lineage marker ("pandas_data_fingerprint"):
    # ~5 s at a million papers, for a fingerprint nothing reads. The manifest's sha256s identify the data.
    pandas_execution_engine.HASH_THRESHOLD = 0

    with tempfile.TemporaryDirectory(prefix="papers-gx-docs-") as docs_dir:
        ctx = gx.get_context(mode="ephemeral", project_config=_context_config(Path(docs_dir)))
        source = ctx.data_sources.add_pandas("candidate")
        run_id = RunIdentifier(run_name=version, run_time=dt.datetime.now(dt.UTC))
        per_table: dict[str, list[tuple[int, Check]]] = defaultdict(list)
        for i, check in checks:
            per_table[check.table].append((i, check))

        outcomes: dict[int, Outcome] = {}
        results: dict[str, Any] = {}
        for table, table_checks in per_table.items():
            suite = ctx.suites.add(
                gx.ExpectationSuite(name=table, expectations=[_expectation(i, c) for i, c in table_checks])
            )
            batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(table)
            definition = ctx.validation_definitions.add(
                gx.ValidationDefinition(name=table, data=batch, suite=suite)
            )
            reads = {col for _, c in table_checks for col in c.columns}
            result = definition.run(
                batch_parameters={"dataframe": _pandas_batch(tables[table], reads)},
                expectation_parameters=parameters,
                # BASIC, not SUMMARY: SUMMARY has GX's pandas engine index every failing row of every check
                # (a copy of the batch per check: 2.4 of 6.9 s at a million papers); the few null rows a
                # failed not-null check shows are looked up in Polars instead (_null_rows).
                result_format={"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE},
                run_id=run_id,
            )
            results[table] = result.to_json_dict()
            checks_by_index = dict(table_checks)
            for r in result.results:
                i = r.expectation_config.meta["suite_index"]
                outcomes[i] = _outcome(checks_by_index[i], r, tables[table])

        try:
            _escape_unexpected_values(ctx.validation_results_store)
            ctx.build_data_docs()
            # Read back whole: the caller decides where the report goes (a candidate's, or a rejected one's).
            docs = {
                p.relative_to(docs_dir).as_posix(): p.read_bytes()
                for p in sorted(Path(docs_dir).rglob("*"))
                if p.is_file()
            }
            return GxRun(outcomes, results, docs)
        except Exception as exc:  # noqa: BLE001
            # Data Docs are a courtesy view: a renderer bug must not hide the verdict.
            log.warning("GX Data Docs could not be built: %s", exc)
            return GxRun(outcomes, results, {}, f"{type(exc).__name__}: {exc}")


def _escape_unexpected_values(store) -> None:
    """HTML-escape the failing values GX keeps for Data Docs (GX 1.24.1 writes them into its pages raw)."""
    # GX escapes its string-template parameters but emits table cells through View.render_content_block, which
    # returns a str as-is: a title `<script>...` in partial_unexpected_list becomes live markup (SPEC §8). The
    # stored copy is the one Data Docs read; results.json and the Outcomes keep the raw values.
    for key in store.list_keys():
        stored = store.get(key)
        for r in stored.results:
            res = r.result or {}
            for name in ("partial_unexpected_list", "unexpected_list", "observed_value"):
                if res.get(name):
                    res[name] = _escaped(res[name])
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
    """In-memory stores, one Data Docs site in docs_dir, no progress bars, no analytics."""
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


# --- GX results in a reviewer's words -------------------------------------------------------------------------


def _outcome(check: Check, r, frame: pl.DataFrame | pl.LazyFrame) -> Outcome:
    result = r.result or {}
    exc = r.exception_info or {}
    messages = _exception_messages(exc)
    if messages:
        observed, sample = "could not evaluate: " + messages[0], messages[1:SAMPLE_SIZE]
    elif "unexpected_count" in result:
        observed = _map_observed(check, result)
        if check.expectation == "ExpectColumnValuesToNotBeNull":
            sample = _null_rows(frame, check.columns[0]) if result["unexpected_count"] else []
        else:
            sample = _map_sample(check, result)
    else:
        observed, sample = _aggregate_observed(check, result, r.expectation_config.kwargs), []
    return Outcome(
        table=check.table,
        expectation=r.expectation_config.type,
        column=column_label(check),
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
        return f"{bad:,} of {rows:,} rows null ({pct(bad, rows)})"
    if "missing_count" not in result or check.expectation == "ExpectCompoundColumnsToBeUnique":
        return f"{bad:,} of {rows:,} rows unexpected ({pct(bad, rows)})"
    text = f"{bad:,} of {rows - nulls:,} non-null values unexpected ({pct(bad, rows - nulls)})"
    if nulls:
        text += f"; {nulls:,} null skipped"
    if "mostly" in check.kwargs:
        text += f"; allowed up to {1 - check.kwargs['mostly']:.0%}"
    return text


def _null_rows(frame: pl.DataFrame | pl.LazyFrame, column: str) -> list[str]:
    """The first SAMPLE_SIZE rows (0-based, as GX counts them) where `column` is null."""
    rows = frame.lazy().select(pl.col(column).is_null().arg_true().head(SAMPLE_SIZE)).collect().to_series()
    return [f"row {i}" for i in rows.to_list()]


def _map_sample(check: Check, result: dict) -> list[str]:
    values = result.get("partial_unexpected_list") or []
    if check.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        a, b = check.kwargs["column_A"], check.kwargs["column_B"]
        values = [f"{a}={short(v[0])}, {b}={short(v[1])}" for v in values]
    elif check.expectation == "ExpectCompoundColumnsToBeUnique":
        values = [
            ", ".join(f"{k}={short(x)}" for k, x in v.items()) if isinstance(v, dict) else v for v in values
        ]
    return list(dict.fromkeys(short(v) for v in values))[:SAMPLE_SIZE]


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
    return f"observed {short(observed)}"


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


def _int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return short(value)
