"""flows/prepare.py: each file prepared once, kept under a key of exactly what its result depends on."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from flows.extract import Dump, parsed_dump
from flows.parallel import mapped
from flows.prepare import file_jobs, job_groups, labelled_records, prepared_files, prepared_group

FIXTURES = Path(__file__).parent / "fixtures"


def _raw(tmp_path: Path, *names: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, raw / Path(name).name)
    return raw


def _prepare(raw: Path, cache: Path, year: int | None = 2025, workers: int = 1):
    return prepared_files(file_jobs(raw, cache, year), workers)


def test_a_file_is_prepared_once_and_its_kept_result_reused(tmp_path):
    raw = _raw(tmp_path, "hf_text/basic.txt")
    cache = tmp_path / "cache"
    (first,) = _prepare(raw, cache)
    (second,) = _prepare(raw, cache)
    assert (first.cached, second.cached) == (False, True)
    assert (second.records, second.quarantined, second.format) == (4, 0, "hf_papers_text")
    assert_frame_equal(pl.read_parquet(first.records_path), pl.read_parquet(second.records_path))
    kept = pl.read_parquet(second.records_path)
    assert kept["title"][0].startswith("AC3D") and kept["title_id"][0].startswith("title:")
    assert kept["language"].to_list() == ["en"] * 4
    # Another --year changes the dates: a new result. Changed content: prepared again.
    (other_year,) = _prepare(raw, cache, year=2024)
    assert other_year.cached is False and other_year.entry != first.entry
    (raw / "basic.txt").write_text((FIXTURES / "hf_text/basic.txt").read_text().replace("AC3D", "AC4D"))
    (changed,) = _prepare(raw, cache)
    assert changed.cached is False and pl.read_parquet(changed.records_path)["title_raw"][0].startswith("AC4D")
    assert not list(cache.glob(".*")), "no temporary entry is left behind"


def test_a_digest_dated_by_its_file_time_is_prepared_again_when_that_day_changes(tmp_path):
    raw = _raw(tmp_path, "hf_text/basic.txt")
    path, cache = raw / "basic.txt", tmp_path / "cache"
    day = dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (day, day))
    (first,) = _prepare(raw, cache, year=None)
    assert first.mtime_day == "2026-05-01" and first.input_row()["dated_by_file_time"] == "2026-05-01"
    (again,) = _prepare(raw, cache, year=None)
    assert again.cached and again.entry == first.entry
    os.utime(path, (day + 86_400, day + 86_400))
    (touched,) = _prepare(raw, cache, year=None)
    assert touched.cached is False and touched.mtime_day == "2026-05-02"
    # With --year the file time plays no part: the same result whatever the day.
    (with_year,) = _prepare(raw, cache, year=2025)
    assert with_year.mtime_day is None and "dated_by_file_time" not in with_year.input_row()


def test_prepared_in_processes_equals_prepared_in_one(tmp_path):
    raw = _raw(tmp_path, "hf_text/basic.txt", "hf_json/daily_2025-03-14.json", "arxiv_listing/listing.txt",
               "feeds/rss_new.xml")
    one = _prepare(raw, tmp_path / "one", workers=1)
    two = _prepare(raw, tmp_path / "two", workers=2)
    assert [p.path for p in one] == [p.path for p in two] == sorted(p.name for p in raw.iterdir())
    for a, b in zip(one, two, strict=True):
        assert_frame_equal(pl.read_parquet(a.records_path), pl.read_parquet(b.records_path))
        assert (a.records, a.quarantined, a.format) == (b.records, b.quarantined, b.format)


def test_files_prepared_as_one_group_keep_what_each_gives_alone(tmp_path):
    # Every format, a file with records in quarantine, one with none at all, and one dated by its file time.
    raw = _raw(tmp_path, "hf_text/basic.txt", "hf_text/truncated.txt", "hf_json/daily_2025-03-14.json",
               "hf_json/empty_array.json", "arxiv_listing/listing.txt", "arxiv_listing/missing_id.txt",
               "feeds/atom_new.xml", "hf_html/daily.html", "hf_text/no_header.txt")
    together = prepared_group(file_jobs(raw, tmp_path / "together", None))
    alone = [prepared_group([job])[0] for job in file_jobs(raw, tmp_path / "alone", None)]
    assert [p.path for p in together] == [p.path for p in alone] == sorted(p.name for p in raw.iterdir())
    assert sum(p.records for p in together) > 40 and sum(p.quarantined for p in together) > 0
    assert any(p.mtime_day for p in together) and any(p.records == 0 for p in together)
    for a, b in zip(together, alone, strict=True):
        assert (a.records, a.quarantined, a.format, a.mtime_day, a.announced) == (
            b.records, b.quarantined, b.format, b.mtime_day, b.announced)
        assert a.entry.name == b.entry.name  # the same key: a later run finds it whichever way it was made
        assert_frame_equal(pl.read_parquet(a.records_path), pl.read_parquet(b.records_path))
        assert_frame_equal(pl.read_parquet(a.quarantine_path), pl.read_parquet(b.quarantine_path))
        assert set(a.seconds) == {"extract", "clean", "language", "cache_write"}


def test_jobs_are_grouped_in_order_by_input_size(tmp_path, monkeypatch):
    import flows.prepare as prepare

    raw = tmp_path / "raw"
    raw.mkdir()
    for i, size in enumerate([300, 300, 300, 900, 100, 100, 100, 100]):
        (raw / f"{i}.txt").write_text("x" * size)
    jobs = file_jobs(raw, tmp_path / "cache", 2025)
    monkeypatch.setattr(prepare, "GROUP_BYTES", 600)
    monkeypatch.setattr(prepare, "GROUPS_PER_WORKER", 1)
    groups = job_groups(jobs, workers=1)
    assert [[j.path.name for j in g] for g in groups] == [["0.txt", "1.txt"], ["2.txt"], ["3.txt"],
                                                          ["4.txt", "5.txt", "6.txt", "7.txt"]]
    # Little input: groups shrink so that each worker gets GROUPS_PER_WORKER of them.
    assert [len(g) for g in job_groups(jobs[4:], workers=2)] == [2, 2]
    monkeypatch.setattr(prepare, "GROUPS_PER_WORKER", 2)
    assert [len(g) for g in job_groups(jobs[4:], workers=2)] == [1, 1, 1, 1]
    assert job_groups([], workers=2) == []


def test_listing_again_reads_only_the_files_that_changed(tmp_path, monkeypatch):
    import hashlib

    raw = _raw(tmp_path, "hf_text/basic.txt", "hf_json/daily_2025-03-14.json")
    first = file_jobs(raw, tmp_path / "cache", 2025)
    read = []
    digest = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda f, name: read.append(Path(f.name).name) or digest(f, name))
    again = file_jobs(raw, tmp_path / "cache", 2025)
    assert read == [] and [j.sha256 for j in again] == [j.sha256 for j in first]
    (raw / "basic.txt").write_text((FIXTURES / "hf_text/basic.txt").read_text().replace("AC3D", "AC4D!"))
    changed = file_jobs(raw, tmp_path / "cache", 2025)
    assert read == ["basic.txt"]
    assert changed[0].sha256 == hashlib.sha256((raw / "basic.txt").read_bytes()).hexdigest() != first[0].sha256
    assert changed[1].sha256 == first[1].sha256


def test_labelled_records_keep_every_record_and_label_it():
    parsed = parsed_dump(Dump.load(FIXTURES / "arxiv_listing/listing.txt", FIXTURES / "arxiv_listing"), 2025)
    labelled = labelled_records(parsed.records)
    assert labelled.height == parsed.records.height == 14
    assert labelled["title_raw"].to_list() == parsed.records["title_raw"].to_list()
    assert labelled["language"].null_count() == 0


def _square(n: int) -> int:
    return n * n


def test_mapped_keeps_order_in_and_out_of_processes():
    assert list(mapped(_square, [3, 1, 2], workers=2)) == [9, 1, 4]
    assert list(mapped(_square, [3, 1, 2], workers=1)) == [9, 1, 4]
    assert list(mapped(_square, [], workers=2)) == []


def test_results_kept_under_other_rules_are_removed(tmp_path, monkeypatch):
    from flows import prepare

    raw = _raw(tmp_path, "hf_text/basic.txt")
    cache = tmp_path / "cache"
    (old,) = _prepare(raw, cache)
    monkeypatch.setattr(prepare, "rules_fingerprint", lambda: "code after a change")
    (new,) = _prepare(raw, cache)
    assert new.cached is False and new.entry != old.entry
    assert not old.entry.exists() and new.entry.exists()
    assert [p.name for p in cache.iterdir()] == [new.entry.name]


def test_the_census_is_kept_with_the_result_and_not_counted_again(tmp_path, monkeypatch):
    from flows.readers.hf_text import HfPapersText

    raw = _raw(tmp_path, "hf_text/basic.txt")
    cache = tmp_path / "cache"
    (first,) = _prepare(raw, cache)
    assert (first.announced, first.shortfall) == (4, 0)
    assert first.input_row() | {"sha256": ""} == {
        "path": "basic.txt", "sha256": "", "format": "hf_papers_text", "records": 4, "quarantined": 0,
        "announced": 4, "census_shortfall": 0,
    }

    def counted_again(self, text):
        raise AssertionError("a cached file must not be counted again")

    monkeypatch.setattr(HfPapersText, "census", counted_again)
    (second,) = _prepare(raw, cache)
    assert second.cached and (second.announced, second.shortfall) == (4, 0)
