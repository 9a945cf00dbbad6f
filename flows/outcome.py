"""What validation found, as plain data: one Outcome per check of the suite, gathered in a Report.

The GX adapter (flows/gx_suite.py) and the computed checks (flows/computed_checks.py) both make Outcomes;
flows/validate.py gathers them in a Report; flows/report.py renders it. No GX, no files, no rendering here,
besides how a sample value is shown in one line (shared by both kinds of checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.facts import QuarantineSample
from schemas.expectations import Check
from schemas.patterns import INVISIBLE

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
    """Everything the suite found about one candidate version, and what its report page shows beside it.

    Data only: flows/report.py turns it into files (report_files) and the caller writes them where it wants.
    """

    version: str
    success: bool
    outcomes: list[Outcome]
    counts: dict[str, int] = field(default_factory=dict)  # raw_records and rows per table
    parameters: dict[str, int] = field(default_factory=dict)  # run-time values the suite was given
    context: dict = field(default_factory=dict)  # inputs, diff summary, parent, ... as the caller gave them
    quarantine: QuarantineSample | None = None
    gx_results: dict[str, Any] = field(default_factory=dict)  # GX's own results per table, for results.json
    # The GX Data Docs site as {path relative to its directory: bytes}; empty when it could not be built.
    data_docs: dict[str, bytes] = field(default_factory=dict, repr=False)
    data_docs_error: str | None = None

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


# --- one sample value, one line -------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def short(value: Any, limit: int = 200) -> str:
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


def column_label(check: Check) -> str | None:
    """The column(s) a check is about, as the report names them (None: the whole table)."""
    if "column" in check.kwargs:
        return check.kwargs["column"]
    if "column_A" in check.kwargs:
        return f"{check.kwargs['column_A']}, {check.kwargs['column_B']}"
    if "column_list" in check.kwargs and check.expectation != "ExpectTableColumnsToMatchOrderedList":
        return ", ".join(check.kwargs["column_list"])
    return None
