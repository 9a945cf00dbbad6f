"""The gate a candidate passes before it may be published (write-audit-publish's audit).

In order: no breaking schema change against the parent (unless allowed), no published paper removed (unless
allowed; the refusal names the inputs that explain it), then the expectation suite (flows/validate.py). The
diff against the parent is computed once here and goes to the report, the card and the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows import store
from flows.diff import diff_against_parent, refuse_schema_change
from flows.merge import Merged
from flows.publish import Candidate
from flows.settings import Settings
from flows.validate import Report, validate_version


@dataclass(frozen=True)
class Verdict:
    """A candidate's verdict: the version name it would take, its validation report and its diff to the parent."""

    name: str
    report: Report
    diff: dict | None


def audited(
    candidate: Candidate, settings: Settings, latest: str | None, inputs: list[dict], raw_records: int,
    merged: Merged,
) -> Verdict:
    """Gate the candidate against `latest`; raises SchemaChangeRefused or RemovalsRefused, else returns its verdict."""
    dataset_dir, tables = settings.dataset_dir, candidate.tables()
    parent_manifest = store.read_manifest(dataset_dir, latest) if latest else None
    diff = None
    if parent_manifest is not None:
        if not settings.allow_schema_change:
            refuse_schema_change(parent_manifest.get("schema", {}), latest)
        diff = diff_against_parent(
            latest, store.scanned_table(dataset_dir, latest, "papers"),
            store.scanned_table(dataset_dir, latest, "appearances"), parent_manifest["inputs"], tables, inputs,
            settings.allow_removals,
            # Carried-over papers are latest's rows byte for byte: only rebuilt ones can differ (unless a record
            # check moved papers out, which the full comparison accounts for).
            only=merged.rebuilt if not any(m.papers for m in merged.moved.values()) else None,
        )
    name = store.next_version_name(dataset_dir)
    report = validate_version(
        tables, version=name, raw_records=raw_records,
        parent={"papers": merged.parent} if merged.parent is not None else None,
        context={"inputs": inputs, "diff": diff["summary"] if diff else None, "parent": latest},
        blocking_warnings=settings.blocking_warnings, moved=merged.moved,
    )
    return Verdict(name, report, diff)
