"""Per-file work: one raw file -> its cleaned, language-labelled records and its quarantine, computed once.

What a file yields depends only on its bytes, its name, the `--year` option, the day of its file time (only
for digests dated by it) and the code's rules, so the result is kept under a key made of exactly those and
reused by every later run. Files are prepared in parallel (flows/parallel.py). It does not merge papers across
files (flows/identity.py does) and never writes outside its cache directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from flows import clean, identity, language, store
from flows.extract import Parsed, dump_paths, parsed_dump
from flows.fingerprint import rules_fingerprint, run_fingerprint
from flows.parallel import mapped, mapped_in_threads, worker_count
from flows.readers.base import Dump
from flows.settings import Settings

__all__ = ["FileJob", "Inputs", "PreparedFile", "file_jobs", "listed_inputs", "nothing_to_publish", "prepared_files",
           "raw_records"]

# Files that need preparing are prepared in groups (job_groups): up to GROUP_BYTES of input each, and at least
# GROUPS_PER_WORKER groups per worker process.
GROUP_BYTES = 32 << 20
GROUPS_PER_WORKER = 4


@dataclass(frozen=True)
class FileJob:
    """One raw file to prepare, with everything its result depends on."""

    path: Path
    raw_dir: Path
    rel_path: str
    sha256: str
    mtime_day: str
    year: int | None
    cache_dir: Path
    size: int = 0  # bytes when listed: what job_groups balances on

    @property
    def key(self) -> str:
        """Cache key of the result when it does not depend on the file time."""
        basis = f"{rules_fingerprint()}|{self.sha256}|{self.rel_path}|{self.year}"
        return hashlib.sha256(basis.encode()).hexdigest()[:32]

    @property
    def dated_key(self) -> str:
        """Cache key of the result when the digest was dated by the file time."""
        return f"{self.key}-{self.mtime_day}"


@dataclass(frozen=True)
class PreparedFile:
    """A prepared file's kept result: where its Parquet lies and what it held."""

    entry: Path
    path: str
    sha256: str
    format: str
    records: int
    quarantined: int
    mtime_day: str | None  # set when the digest date came from the file time
    cached: bool
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds per step, when prepared in this run
    announced: int | None = None  # records the file announces (its reader's census); None: not counted
    shortfall: int = 0  # announced records missing from records + quarantine (a census row is in quarantine)

    @property
    def records_path(self) -> Path:
        return self.entry / "records.parquet"

    @property
    def quarantine_path(self) -> Path:
        return self.entry / "quarantine.parquet"

    def input_row(self) -> dict:
        """What a manifest says of this input."""
        row = {"path": self.path, "sha256": self.sha256, "format": self.format, "records": self.records,
               "quarantined": self.quarantined, "announced": self.announced, "census_shortfall": self.shortfall}
        return row | ({"dated_by_file_time": self.mtime_day} if self.mtime_day else {})


# The checksums of the last listing in this process, by (path, device, inode, size, mtime_ns). `papers run` lists
# the inputs before Prefect starts (to decide "unchanged") and again in the flow: the second listing reads no
# unchanged file again (0.7 s at a million records). A rewritten file has another size or mtime; and what is
# prepared records the checksum of the bytes it read (Dump.load) whatever the listing said.
_last_checksums: dict[tuple, str] = {}


def file_jobs(raw_dir: Path, cache_dir: Path, year: int | None, workers: int = 0) -> list[FileJob]:
    """Every dump under raw_dir as a job, its bytes hashed (in threads: hashlib releases the GIL)."""
    global _last_checksums
    known, listed = _last_checksums, {}

    def job(path: Path) -> FileJob:
        stat = path.stat()
        seen = (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        sha256 = known.get(seen)
        if sha256 is None:
            with path.open("rb") as f:
                sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        listed[seen] = sha256
        mtime = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc).date().isoformat()
        return FileJob(path, raw_dir, path.relative_to(raw_dir).as_posix(), sha256, mtime, year, cache_dir,
                       stat.st_size)

    jobs = mapped_in_threads(job, dump_paths(raw_dir), workers)
    _last_checksums = listed
    return jobs


@dataclass(frozen=True)
class Inputs:
    """The raw directory's files as jobs, and whether the latest version was made from exactly these."""

    jobs: list[FileJob]
    run_print: str  # flows/fingerprint.run_fingerprint of the jobs, --year and the code
    latest: str | None
    unchanged: bool  # latest was made from these inputs with this code (file-time-dated digests on the same day)


def listed_inputs(settings: Settings) -> Inputs:
    """Hash every dump under the raw directory and compare the run's fingerprint with latest's manifest.

    Deciding "unchanged" needs only the inputs' checksums, the options and the code's fingerprint: seconds,
    where running the pipeline again takes minutes at a million records.
    """
    jobs = file_jobs(settings.raw_dir, settings.files_cache_dir, settings.year)
    run_print = run_fingerprint([(j.rel_path, j.sha256) for j in jobs], settings.year)
    latest = store.latest_name(settings.dataset_dir)
    days = {j.rel_path: j.mtime_day for j in jobs}
    unchanged = bool(jobs) and latest is not None and store.unchanged_since(
        settings.dataset_dir, latest, run_print, days, settings.runs_cache_dir
    )
    return Inputs(jobs, run_print, latest, unchanged)


def raw_records(prepared: list[PreparedFile]) -> int:
    """Records the inputs held: published or quarantined (what the manifest reconciles against)."""
    return sum(p.records + p.quarantined for p in prepared)


def nothing_to_publish(prepared: list[PreparedFile], raw_dir: Path) -> tuple[str, str, dict] | None:
    """When no input holds a record: (status, reason naming each file, counts); None otherwise.

    Inputs that announce no entries at all (a weekend feed) are a quiet day ("empty"); anything else quarantined
    whole makes the directory unusable. An empty raw directory is unusable too.
    """
    if not prepared:
        return "unusable", f"no dump files in {raw_dir}", {}
    if any(p.records for p in prepared):
        return None
    counts = {"raw_records": raw_records(prepared), "quarantined": sum(p.quarantined for p in prepared)}
    if not any(p.quarantined for p in prepared):
        return "empty", "; ".join(f"{p.path}: {p.format} holds no entries" for p in prepared), counts
    reasons = pl.scan_parquet([p.quarantine_path for p in prepared]).select("source_path", "reason").unique(
        maintain_order=True).collect()
    said = "; ".join(f"{path}: {reason}" for path, reason in reasons.iter_rows())
    return "unusable", f"no usable records ({said})", counts


def kept_result(job: FileJob) -> PreparedFile | None:
    """The kept result of a job, if an earlier run prepared the same file under the same rules."""
    for key in (job.key, job.dated_key):
        entry = job.cache_dir / key
        meta = entry / "meta.json"
        if meta.exists():
            found = json.loads(meta.read_text())
            if key == job.key and found.get("dated_by_file_time"):
                continue  # this result depended on the file time: only the dated entry can answer
            return _prepared(entry, found, cached=True)
    return None


def prepared_files(jobs: list[FileJob], workers: int = 0) -> list[PreparedFile]:
    """Each job's result, from the cache or computed (in parallel over groups of the files that need it), in
    job order."""
    kept = {job: kept_result(job) for job in jobs}
    todo = [job for job in jobs if kept[job] is None]
    groups = job_groups(todo, worker_count(workers))
    fresh = {}
    for group, results in zip(groups, mapped(prepared_group, groups, workers), strict=True):
        fresh.update(zip(group, results, strict=True))
    if jobs:
        removed_outdated(jobs[0].cache_dir)
    return [kept[job] or fresh[job] for job in jobs]


def job_groups(jobs: list[FileJob], workers: int) -> list[list[FileJob]]:
    """Consecutive jobs in groups of about GROUP_BYTES of input, smaller when there is little input, so that
    each worker gets at least GROUPS_PER_WORKER groups to balance over.

    Cleaning costs ~45 ms per call whatever the rows (Polars runs ~300 small operations per call) on top of
    ~13 ms per 1,000 records: cleaned one by one, the 200 files of the 1M benchmark spent ~9 s of CPU in that
    fixed cost alone. A group is extracted file by file, cleaned and labelled as one frame (every rule is per
    row: tests/test_prepare.py checks a group gives each file what it gives alone) and kept file by file.
    """
    target = max(1, min(GROUP_BYTES, sum(job.size for job in jobs) // max(1, workers * GROUPS_PER_WORKER)))
    groups, group, filled = [], [], 0
    for job in jobs:
        if group and filled + job.size > target:
            groups.append(group)
            group, filled = [], 0
        group.append(job)
        filled += job.size
    return groups + [group] if group else groups


def prepared_group(jobs: list[FileJob]) -> list[PreparedFile]:
    """Read each file, clean and label their records as one frame, and keep each file's result (runs in a worker
    process)."""
    clock = time.process_time()
    checksums, parsed, extract_s = [], [], []
    for job in jobs:
        dump = Dump.load(job.path, job.raw_dir)
        checksums.append(dump.sha256)
        parsed.append(parsed_dump(dump, job.year))
        now = time.process_time()
        extract_s.append(now - clock)
        clock = now
    heights = [p.records.height for p in parsed]
    records = cleaned_records(pl.concat([p.records for p in parsed], how="vertical"))
    clean_s, clock = time.process_time() - clock, time.process_time()
    records = labelled(records)
    language_s = time.process_time() - clock
    results, offset, total = [], 0, max(1, sum(heights))
    for job, sha256, found, height, extract in zip(jobs, checksums, parsed, heights, extract_s, strict=True):
        share = height / total
        seconds = {"extract": extract, "clean": clean_s * share, "language": language_s * share}
        results.append(_kept(job, sha256, found, records.slice(offset, height), seconds))
        offset += height
    return results


def removed_outdated(cache_dir: Path) -> int:
    """Remove kept results made under other rules (older code): no run of this code can use them again.

    Without this, every change of the code would leave one more copy of the whole history in the cache.
    """
    removed = 0
    for entry in cache_dir.iterdir() if cache_dir.is_dir() else []:
        meta = entry / "meta.json"
        if entry.name.startswith(".") or not meta.is_file():
            continue
        try:
            rules = json.loads(meta.read_text()).get("rules")
        except (OSError, ValueError):
            rules = None
        if rules != rules_fingerprint():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _kept(job: FileJob, sha256: str, parsed: Parsed, records: pl.DataFrame, seconds: dict[str, float]) -> PreparedFile:
    """Keep one file's labelled records and quarantine in the cache, under the key its result depends on."""
    clock = time.process_time()
    by_file_time = records.filter(pl.col("digest_date_source").str.contains("mtime")).height > 0
    meta = {
        "path": job.rel_path,
        "sha256": sha256,
        "format": parsed.source_format,
        "records": records.height,
        "quarantined": parsed.quarantine.height,
        "announced": parsed.announced,
        "shortfall": parsed.shortfall,
        "dated_by_file_time": job.mtime_day if by_file_time else None,
        "rules": rules_fingerprint(),
    }
    entry = job.cache_dir / (job.dated_key if by_file_time else job.key)
    _write_entry(entry, records, parsed.quarantine, meta)
    if by_file_time:  # the undated key tells later runs to look for the dated one
        _write_entry(job.cache_dir / job.key, records.clear(), parsed.quarantine.clear(), meta)
    return _prepared(entry, meta, cached=False, seconds={**seconds, "cache_write": time.process_time() - clock})


def labelled_records(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw records -> cleaned records with their title id and the language of title + abstract."""
    return labelled(cleaned_records(raw))


def cleaned_records(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw records -> cleaned records with their title id (flags sorted, so merging has no list to sort)."""
    return clean.clean_records(raw.lazy()).with_columns(identity.title_id(), pl.col("flags").list.sort()).collect()


def labelled(records: pl.DataFrame) -> pl.DataFrame:
    """Cleaned records with the language of their title + abstract."""
    text = records.select(language.language_expr_input("title", "abstract")).to_series()
    return records.with_columns(language=language.detected_languages(text))


def _prepared(entry: Path, meta: dict, cached: bool, seconds: dict[str, float] | None = None) -> PreparedFile:
    return PreparedFile(entry, meta["path"], meta["sha256"], meta["format"], meta["records"], meta["quarantined"],
                        meta.get("dated_by_file_time"), cached, seconds or {}, meta.get("announced"),
                        meta.get("shortfall", 0))


def _write_entry(entry: Path, records: pl.DataFrame, quarantine: pl.DataFrame, meta: dict) -> None:
    """Write a cache entry under a temporary name and rename it: a crash never leaves one that looks complete."""
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    records.write_parquet(tmp / "records.parquet", statistics=False)
    quarantine.write_parquet(tmp / "quarantine.parquet", statistics=False)
    (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
    try:
        tmp.rename(entry)
    except OSError:  # another run kept the same result first; its content is the same
        shutil.rmtree(tmp, ignore_errors=True)
