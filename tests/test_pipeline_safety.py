"""End to end, issue 9: removals are deliberate, orphans are adopted, appearances are diffed, bad input is contained.

Each test runs the real flow (slow): the removal gate (flows/diff.py), recovery after a dead run
(flows/recovery.py), and over-long URLs kept out of links (flows/readers/safety.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import os
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED
from typer.testing import CliRunner

from flows import pipeline, store
from flows.cli import ExitCode, app

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
EXTRA = (
    "Mar 20\n\n"
    "A Brand New Paper on Removals\n\nWe show that a dataset should never lose papers by accident, and that a "
    "pipeline can say which inputs explain every removal before it publishes anything.\n\n"
    "Another New Paper on Sources of Truth\n\nWe argue that the raw directory is the only source of truth for a "
    "derived dataset, and study what happens when files go missing from it.\n"
)


def _cli(*args: str):
    return CliRunner().invoke(app, [*args])


def test_a_removed_input_is_refused_then_published_only_when_allowed(seed_raw_dir, tmp_path):
    raw, out = seed_raw_dir, tmp_path / "out"
    (raw / "2025-extra.txt").write_text(EXTRA)
    assert pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025).version == "v1"
    (raw / "2025-extra.txt").unlink()

    refused = _cli("run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025")
    message = " ".join(refused.output.split())
    assert refused.exit_code == ExitCode.REMOVALS_REFUSED, refused.output
    assert "would remove 2 paper(s) published in v1" in message
    assert "2025-extra.txt removed (2 papers)" in message and "A Brand New Paper on Removals" in message
    assert store.version_names(out / "papers") == ["v1"] and store.latest_name(out / "papers") == "v1"
    assert not list((out / "papers").glob(".candidate-*"))

    allowed = _cli("run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025", "--allow-removals")
    assert allowed.exit_code == 0 and "published v2" in allowed.output, allowed.output
    assert store.read_manifest(out / "papers", "v2")["diff"]["summary"]["removed"] == 2


def test_an_orphan_version_is_adopted_not_published_again(seed_raw_dir, tmp_path, caplog):
    raw, out = seed_raw_dir, tmp_path / "out"
    assert pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025).version == "v1"
    (raw / "2025-extra.txt").write_text(EXTRA)
    assert pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025).version == "v2"
    # As if the run had been killed between renaming its candidate to v2 and replacing `latest`.
    (out / "papers" / "latest").write_text("v1\n")
    (out / "papers" / ".latest.0badc0de").write_text("v2")

    again = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    assert (again.status, again.version) == ("unchanged", "v2")
    assert store.version_names(out / "papers") == ["v1", "v2"]
    assert not (out / "papers" / ".latest.0badc0de").exists()
    assert any("adopted v2" in r.getMessage() for r in caplog.records)


def test_a_file_time_change_that_moves_digest_dates_shows_in_the_diff(seed_raw_dir, tmp_path):
    raw, out = seed_raw_dir, tmp_path / "out"
    dump = raw / SEED.name  # its name holds no year: the year of "Mar 13" comes from the file time
    saved = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    os.utime(dump, (saved, saved))
    assert pipeline.papers_run(raw_dir=raw, out_dir=out).version == "v1"
    saved = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    os.utime(dump, (saved, saved))
    assert pipeline.papers_run(raw_dir=raw, out_dir=out).version == "v2"

    data = json.loads(_cli("diff", "v1", "v2", "--out-dir", str(out), "--json").output)
    assert data["summary"]["unchanged"] == 0 and data["summary"]["changed"] == 112
    assert data["summary"]["changed_fields"] == {"digest_dates": 112}


def test_bad_inputs_are_quarantined_and_never_published(seed_raw_dir, tmp_path):
    raw, out = seed_raw_dir, tmp_path / "out"
    (raw / "broken.txt.gz").write_bytes(gzip.compress(SEED.read_bytes())[:-20])
    daily = (FIXTURES / "hf_json" / "single.json").read_text()
    (raw / "daily.json").write_text(
        daily.replace('"title": "A Single', '"title": "\\ud800A\\u0000 \\u202eSingle', 1)
    )
    (raw / "huge.json").write_text(
        (FIXTURES / "hf_json" / "single.json")
        .read_text()
        .replace(
            '"title": "A Single Item Saved Alone", "summary"', f'"title": "{"Giant " * 20000}", "summary"'
        )
    )
    (raw / "2025-url.txt").write_text(
        "Mar 21\n\nA Paper With an Endless Link\n\nWe release everything at https://example.org/"
        + "a" * 100_000
        + " and describe it in a long enough abstract that reads as prose.\n"
    )
    result = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    assert result.status == "published"
    version = out / "papers" / result.version
    quarantine = pl.read_parquet(version / "quarantine.parquet")
    reasons = dict(zip(quarantine["source_path"], quarantine["reason"]))
    assert reasons["broken.txt.gz"].startswith("gzip stream cut short")
    assert reasons["huge.json"].startswith("title longer than 1,000 characters")
    papers = pl.read_parquet(version / "papers.parquet")
    assert not papers.filter(pl.col("title").str.contains(r"[\x00\x{202E}]")).height
    assert "\ufffdA Single Item Saved Alone" in set(papers["title_raw"])
    links = pl.read_parquet(version / "links.parquet")
    assert links["url"].str.len_chars().max() <= 2000
    endless = papers.filter(pl.col("title") == "A Paper With an Endless Link")
    assert "url_too_long" in endless["flags"].item().to_list()


SCRIPT_TITLE = (
    "Mar 21\n\n<script>alert(1)</script> A Paper With a Script Title\n\nWe present an abstract that is long enough "
    "to read as prose, so that the reader pairs it with the title above it.\n\nA Clean Companion Paper\n\nWe "
    "present a second abstract that is also long enough to read as prose and pairs with its own title line.\n"
)


def test_one_bad_title_is_quarantined_and_the_version_publishes(seed_raw_dir, tmp_path):
    """Issue 9: one <script> title blocked 112 good papers. Now its paper goes to quarantine, named by the
    record-level expectation, and everything else publishes with counts that still reconcile."""
    raw, out = seed_raw_dir, tmp_path / "out"
    (raw / "2025-script.txt").write_text(SCRIPT_TITLE)
    result = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    assert (result.status, result.version) == ("published", "v1")
    version = out / "papers" / "v1"
    papers = pl.read_parquet(version / "papers.parquet")
    assert papers.height == 113 and "A Clean Companion Paper" in set(papers["title"])
    assert not papers["title"].str.contains("<script>").any()
    quarantine = pl.read_parquet(version / "quarantine.parquet")
    assert quarantine.select("source_path", "location", "reason").rows() == [
        ("2025-script.txt", "line 3", "title_without_latex_or_html")
    ]
    manifest = store.read_manifest(out / "papers", "v1")
    assert manifest["counts"]["reconciles"] is True
    assert (manifest["counts"]["appearances"], manifest["counts"]["quarantined"]) == (113, 1)
    assert manifest["validation"]["quarantined_by_record_checks"] == {"title_without_latex_or_html": 1}
    assert manifest["counts"]["census"]["announced"] == 114 and manifest["counts"]["census"]["shortfall"] == 0
    assert "Records moved to quarantine" in (version / "report" / "index.html").read_text()
    assert "1 sighting(s) by `title_without_latex_or_html`" in (version / "README.md").read_text()


def test_a_reader_that_silently_loses_a_whole_file_blocks_the_version(seed_raw_dir, tmp_path, monkeypatch):
    """The census names a file whose parser saw none of what it announces: the version is blocked (exit 1)."""
    from flows.readers.hf_json import HfDailyJson

    original = HfDailyJson.read

    def loses_everything(self, dump, text, year):
        parsed = original(self, dump, text, year)
        return dataclasses.replace(parsed, records=parsed.records.clear())

    monkeypatch.setattr(HfDailyJson, "read", loses_everything)
    monkeypatch.setenv("PAPERS_WORKERS", "1")  # files prepared in this process, where the fault is injected
    raw, out = seed_raw_dir, tmp_path / "out"
    source = FIXTURES / "real" / "hf_json" / "daily_papers_2024-10-25.json"
    (raw / source.name).write_bytes(source.read_bytes())
    result = _cli("run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025")
    assert result.exit_code == ExitCode.BLOCKED, result.output
    said = " ".join(result.output.split())
    assert f"inputs_yield_what_they_announce: {source.name}: announces 2, gave 0)" in said
    assert store.latest_name(out / "papers") is None
    (rejected,) = (out / "papers" / "rejected").iterdir()
    outcomes = json.loads((rejected / "report" / "results.json").read_text())["outcomes"]
    census = next(o for o in outcomes if o["expectation"] == "inputs_yield_what_they_announce")
    assert census["sample"] == [f"{source.name}: announces 2, gave 0"] and census["kind"] == "dataset"
