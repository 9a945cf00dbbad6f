"""Benchmark (SPEC §9): `papers run` on synthetic corpora, cold, incremental and unchanged, with a scale curve.

Run with `make bench N=1000000` or `python -m flows.bench --records 100000 1000000 3000000`. For each size it
prints (and writes to --out) wall time, peak RSS of the whole process tree (sampled from /proc), the run's own
stage timings (the increment twice: with Prefect's temporary API, as `papers run` by hand, and against a
running Prefect server, as a scheduled deployment runs), the per-row baseline's ratio and language agreement with plain seeded langdetect on the full
text, measured on synthetic and on real texts. Figures come from this machine and this run; nothing here is
asserted by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from flows.prefect_api import free_port
from flows.synthetic import seed_records, synthetic_corpus

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "raw" / "000_c273f1a1012d9d74.txt"
FIXTURES = ROOT / "tests" / "fixtures"


# ---------------------------------------------------------------------------------------------- measuring


class TreeRss:
    """Peak of the summed RSS of a process and all its descendants, sampled every 0.1 s from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_kib / 2**20, 2)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for p in _tree(self.pid)))
            self._stop.wait(0.1)


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def timed_run(raw: Path, out: Path, env: dict[str, str] | None = None) -> dict:
    """One `papers run` in a child process: wall seconds, peak RSS of its process tree, its stage timings."""
    papers = Path(sys.executable).with_name("papers")
    timings = out.parent / "timings.json"
    timings.unlink(missing_ok=True)
    start = time.perf_counter()
    # Output goes to a file, not a pipe: a helper process outliving a crashed run must not block the wait.
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [str(papers), "run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025",
             "--timings", str(timings)],
            stdout=log, stderr=subprocess.STDOUT, text=True,
            env=os.environ | {"PREFECT_LOGGING_LEVEL": "WARNING"} | (env or {}),
        )
        rss = TreeRss(proc.pid)
        code = proc.wait()
        wall = time.perf_counter() - start
        peak = rss.stop()
        log.seek(0)
        output = log.read()
    if code != 0:
        raise SystemExit(f"papers run failed ({code}):\n{output}")
    stages = json.loads(timings.read_text()) if timings.exists() else {}
    staged = sum(stages.get("wall_s", {}).values())
    return {
        "wall_s": round(wall, 2),
        "peak_rss_tree_gib": peak,
        "status": stages.get("status"),
        "stages_wall_s": stages.get("wall_s", {}),
        # Interpreter start, imports, Prefect's API and flow bookkeeping: what no stage accounts for.
        "orchestration_overhead_s": round(wall - staged, 2) if staged else None,
        "workers_cpu_s": stages.get("worker_cpu_s", {}),
        "papers_rebuilt": stages.get("papers_rebuilt"),  # the rest carried over from latest unchanged
        "peak_rss_main_mib": stages.get("peak_rss_mib", {}),
        "output": [ln for ln in output.strip().splitlines() if ln.startswith(("published", "unchanged"))][-1:],
    }


@contextlib.contextmanager
def prefect_server(home: Path) -> Iterator[dict[str, str]]:
    """A Prefect server on 127.0.0.1, as scheduled runs (`papers serve`) use; yields the env that points at it."""
    port = free_port()
    prefect = Path(sys.executable).with_name("prefect")
    env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log = (home / "server.log")
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        server = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"prefect server did not start: {log.read_text()[-2000:]}")
        yield {"PREFECT_API_URL": url}
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------------------------------------- baselines


def per_row_baseline(sample: list[tuple[str, str]]) -> float:
    """Seconds per record the straightforward way: pandas rows, pylatexenc and langdetect on every row."""
    import pandas as pd
    from langdetect import DetectorFactory, detect
    from pylatexenc.latex2text import LatexNodes2Text

    DetectorFactory.seed = 0
    converter = LatexNodes2Text()
    frame = pd.DataFrame(sample, columns=["title", "abstract"])
    start = time.perf_counter()
    rows = []
    for _, row in frame.iterrows():
        title = converter.latex_to_text(row["title"].replace("%", r"\%"))
        abstract = converter.latex_to_text(row["abstract"].replace("%", r"\%"))
        title = re.sub(r"\s+", " ", title).strip()
        try:
            language = detect(f"{title}. {abstract}")
        except Exception:  # langdetect raises on text without features
            language = None
        rows.append((title, abstract, language))
    pd.DataFrame(rows, columns=["title", "abstract", "language"])
    return (time.perf_counter() - start) / len(sample)


def _agreement(texts: list[str], labels: list[str | None]) -> dict:
    """Labels against seeded langdetect on the full texts (langdetect-rs: the same results, bit for bit)."""
    from flows.language import seeded_labels

    full = seeded_labels(texts)
    agree = sum(a == b for a, b in zip(labels, full, strict=True))
    return {"texts": len(texts), "agree": agree, "agreement": round(agree / max(len(texts), 1), 6),
            "non_english_in_reference": sum(1 for f in full if f != "en")}


def language_agreement(version_dir: Path, n: int) -> dict:
    """Published labels (with the pipeline's shortcuts) against plain seeded langdetect on the full text."""
    from flows.language import language_expr_input

    papers = pl.read_parquet(version_dir / "papers.parquet", columns=["title", "abstract", "language"])
    sample = papers.sample(min(n, papers.height), seed=1)
    texts = sample.select(language_expr_input("title", "abstract")).to_series().to_list()
    return _agreement(texts, sample["language"].to_list())


def real_text_agreement() -> dict:
    """The same comparison on every real title + abstract the committed seed and test fixtures hold."""
    from flows.extract import Dump, parsed_dump
    from flows.language import detected_languages, language_expr_input
    from flows.prepare import labelled_records

    texts: list[str] = []
    for path in [SEED, *sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix not in (".py", ".md"))]:
        records = labelled_records(parsed_dump(Dump.load(path, path.parent), 2025).records)
        texts += records.select(language_expr_input("title", "abstract")).to_series().drop_nulls().to_list()
    texts = sorted(set(texts))
    return _agreement(texts, detected_languages(pl.Series(texts)).to_list())


# ---------------------------------------------------------------------------------------------- main


def one_size(records: int, per_file: int, work: Path, agreement_sample: int, server: dict[str, str]) -> dict:
    raw, out = work / "raw", work / "out"
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.perf_counter()
    files = synthetic_corpus(SEED, raw, records, per_file=per_file)
    generated = time.perf_counter() - t0
    cold = timed_run(raw, out)
    unchanged = timed_run(raw, out)
    (raw / "zz_new_digest.txt").write_text(SEED.read_text().replace("Mar 13", "Mar 14"))
    incremental = timed_run(raw, out)
    # The same step as a scheduled run makes it: against a running Prefect server, no temporary API to boot.
    (raw / "zz_new_digest_2.txt").write_text(SEED.read_text().replace("Mar 13", "Mar 15"))
    incremental_server = timed_run(raw, out, env=server)
    latest = (out / "papers" / "latest").read_text().strip()
    return {
        "records": records,
        "files": files,
        "generate_s": round(generated, 1),
        "cold_run": cold,
        "unchanged_run": unchanged,
        "incremental_run_one_seed_digest": incremental,
        "incremental_run_one_seed_digest_with_prefect_server": incremental_server,
        "throughput_records_per_s": round(records / cold["wall_s"]),
        "language_agreement_synthetic": language_agreement(out / "papers" / latest, agreement_sample),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--per-file", type=int, default=5_000)
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--agreement-sample", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=None, help="kept when given; a temp dir otherwise")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here (e.g. bench/results/)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="papers-bench-"))
    base = seed_records(SEED)
    sample = [(f"{t} {i}", a) for i, (t, a) in enumerate(base * (args.baseline_sample // len(base) + 1))]
    per_row = per_row_baseline(sample[: args.baseline_sample])
    sizes = []
    with prefect_server(work / "prefect-home") as server:
        for n in args.records:
            size = one_size(n, args.per_file, work / f"n{n}", args.agreement_sample, server)
            size["ratio_vs_per_row_baseline"] = round(per_row * n / size["cold_run"]["wall_s"], 1)
            sizes.append(size)
            print(json.dumps(size), file=sys.stderr, flush=True)
    report = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf(
            "SC_PHYS_PAGES") / 2**30, 1), "load_average_at_end": os.getloadavg()},
        "per_row_baseline": {"sample_rows": args.baseline_sample, "s_per_row": round(per_row, 5)},
        "language_agreement_real_texts": real_text_agreement(),
        "sizes": sizes,
        "workdir": str(work),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
