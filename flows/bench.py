"""Benchmark (SPEC §9): `papers run` on a synthetic corpus, cold and incremental, against a per-row baseline.

Run with `make bench N=1000000` or `python -m flows.bench --records N`. It prints one JSON document with wall
times, peak RSS, throughput, the per-row baseline's extrapolated time and ratio, and language agreement with
plain seeded langdetect. Figures come from this machine and this run; nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from flows.synthetic import seed_records, synthetic_corpus

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "raw" / "000_c273f1a1012d9d74.txt"


def timed_run(raw: Path, out: Path) -> dict:
    """One `papers run` in a child process: wall seconds, peak RSS of the process tree, and its last lines."""
    papers = Path(sys.executable).with_name("papers")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    # Output goes to a file, not a pipe: a helper process outliving a crashed run must not block the wait.
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.run(
            [str(papers), "run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025"],
            stdout=log, stderr=subprocess.STDOUT, text=True,
            env=os.environ | {"PREFECT_LOGGING_LEVEL": "WARNING"},
        )
        wall = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"papers run failed ({proc.returncode}):\n{output}")
    return {
        "wall_s": round(wall, 2),
        "peak_rss_gib": round(max(peak_kib, before) / 2**20, 2),
        "output": [ln for ln in output.strip().splitlines() if not ln.startswith(("See ", "Starting", "Stopping"))][-2:],
    }


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


def language_agreement(version_dir: Path, n: int) -> dict:
    """Share of papers whose label equals plain seeded langdetect on the same full text."""
    from langdetect import DetectorFactory, detect

    DetectorFactory.seed = 0
    papers = pl.read_parquet(version_dir / "papers.parquet", columns=["title", "abstract", "language"])
    sample = papers.sample(min(n, papers.height), seed=1)
    agree = 0
    for title, abstract, language in sample.iter_rows():
        try:
            plain = detect(f"{title}. {abstract or ''}")
        except Exception:
            plain = None
        plain = plain.split("-")[0] if plain else None
        agree += plain == language
    return {"sample": sample.height, "agreement": round(agree / max(sample.height, 1), 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-file", type=int, default=5_000)
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None, help="kept when given; a temp dir otherwise")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="papers-bench-"))
    raw, out = work / "raw", work / "out"
    shutil.rmtree(raw, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    files = synthetic_corpus(SEED, raw, args.records, per_file=args.per_file)
    generated = time.perf_counter() - t0

    cold = timed_run(raw, out)
    (raw / "zz_new_digest.txt").write_text(SEED.read_text().replace("Mar 13", "Mar 14"))
    incremental = timed_run(raw, out)

    base = seed_records(SEED)
    sample = [(f"{t} {i}", a) for i, (t, a) in enumerate(base * (args.baseline_sample // len(base) + 1))]
    per_row = per_row_baseline(sample[: args.baseline_sample])
    baseline_s = per_row * args.records
    latest = (out / "papers" / "latest").read_text().strip()
    report = {
        "records": args.records,
        "files": files,
        "generate_s": round(generated, 1),
        "cold_run": cold,
        "incremental_run_one_seed_digest": incremental,
        "throughput_records_per_s": round(args.records / cold["wall_s"]),
        "per_row_baseline": {
            "sample_rows": args.baseline_sample,
            "s_per_row": round(per_row, 5),
            "extrapolated_s": round(baseline_s),
            "ratio_vs_cold_run": round(baseline_s / cold["wall_s"], 1),
        },
        "language_agreement_with_plain_langdetect": language_agreement(out / "papers" / latest, 2000),
        "workdir": str(work),
    }
    print(json.dumps(report, indent=2))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
