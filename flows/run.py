"""One run's bookkeeping: its settings, its log, the seconds and memory of each stage, and what it returns.

The flow (flows/pipeline.py) creates a Run and hands it to every stage; stages time themselves with
`run.timed(...)` and end the run with one of the RunResult constructors below. Nothing here reads or writes
the dataset's tables.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import store
from flows.settings import Settings


@dataclass
class RunResult:
    """What one run did, for the CLI and for callers."""

    status: str  # published | unchanged | empty | unusable
    version: str | None
    report: str | None
    counts: dict = field(default_factory=dict)
    reason: str | None = None
    stages: dict = field(default_factory=dict)  # seconds and peak memory per stage (Run.timings)


class Run:
    """The settings of a run, its logger, and per-stage wall seconds, peak RSS and workers' CPU seconds."""

    def __init__(self, settings: Settings, repairs: list[str]) -> None:
        self.settings = settings
        self.log = get_run_logger()
        for repair in repairs:  # what recovery did about an interrupted run (flows/recovery.py)
            self.log.warning("%s", repair)
        self.started = time.perf_counter()
        self.wall: dict[str, float] = {}
        self.peak_rss_mib: dict[str, int] = {}
        self.worker_cpu: dict[str, float] = {}
        self.papers_rebuilt: int | None = None  # papers built from their records (the rest carried over)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.wall[stage] = round(time.perf_counter() - start, 3)
            self.peak_rss_mib[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    def prepared(self, prepared: list) -> None:
        """Log what preparing the files gave, and add the workers' CPU seconds per step (flows/prepare.py)."""
        for p in prepared:
            for step, spent in p.seconds.items():
                self.worker_cpu[step] = round(self.worker_cpu.get(step, 0.0) + spent, 3)
        self.log.info("prepared %d files (%d from the cache): %d records, %d quarantined", len(prepared),
                      sum(p.cached for p in prepared), sum(p.records for p in prepared),
                      sum(p.quarantined for p in prepared))

    def timings(self) -> dict:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        return {"wall_s": self.wall, "flow_body_s": round(time.perf_counter() - self.started, 3),
                "peak_rss_mib": self.peak_rss_mib, "worker_cpu_s": self.worker_cpu, "largest_worker_rss_mib": children,
                "papers_rebuilt": self.papers_rebuilt}

    # ------------------------------------------------------------------------------------------ endings

    def unchanged(self, latest: str, why: str) -> RunResult:
        """Nothing to publish: latest already holds what this run would; its counts and report are returned."""
        self.log.info("unchanged: %s %s", why, latest)
        counts = store.read_manifest(self.settings.dataset_dir, latest).get("counts", {})
        counts = {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
        report = self.settings.dataset_dir / latest / "report" / "index.html"
        return RunResult("unchanged", latest, str(report), counts, stages=self.timings())

    def ended(self, status: str, reason: str, counts: dict, latest: str | None) -> RunResult:
        """No input held a record (status `empty` or `unusable`, see prepare.nothing_to_publish)."""
        return RunResult(status, latest, None, counts, reason=reason, stages=self.timings())

    def published(self, name: str, path: Path, counts: dict) -> RunResult:
        self.log.info("published %s at %s", name, path)
        return RunResult("published", name, str(path / "report" / "index.html"), counts, stages=self.timings())


def run_artifact(name: str, success: bool, counts: dict, diff: dict | None, report_path: Path) -> None:
    """A markdown summary of the run, visible in the Prefect UI when a server is used."""
    lines = [f"# papers {name}: {'valid' if success else 'BLOCKED'}", "", "| table | rows |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in counts.items()]
    if diff:
        lines += ["", "Changes: " + ", ".join(f"{k} {v}" for k, v in diff["summary"].items() if isinstance(v, int))]
    lines += ["", f"Report: `{report_path.resolve()}`"]
    create_markdown_artifact(markdown="\n".join(lines), key="papers-run", description=f"papers {name}")
