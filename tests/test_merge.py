"""The merge over a base version: papers no new input touches are carried over from latest, and the candidate
is byte for byte what a merge of every paper writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED

from flows import merge, pipeline, publish, store
from flows.diff import diff_against_parent
from flows.prepare import listed_inputs, prepared_files
from flows.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"

# Invented (no real dump gives it): HF daily JSON naming the seed's first paper with its arXiv id, so the
# seed's title-only sighting of it joins arxiv:2411.18673 and its title id becomes an alias.
AC3D = "AC3D: Analyzing and Improving 3D Camera Control in Video Diffusion Transformers"
REIDENTIFYING = json.dumps([{"paper": {"id": "2411.18673", "title": AC3D, "summary": "We analyze camera motion.",
                                       "submittedOnDailyAt": "2025-03-20T05:00:00.000Z"}, "title": AC3D}])


def _both_ways(raw: Path, out: Path) -> tuple[pl.Series, dict, dict]:
    """Merge the run's inputs over latest, then every paper again: the ids rebuilt over latest, and each way's
    outputs. The diff against latest restricted to the rebuilt papers must be the whole diff."""
    settings = Settings(raw_dir=raw, out_dir=out, year=2025)
    inputs = listed_inputs(settings)
    prepared = prepared_files(inputs.jobs, 1)
    base = merge.base_version(settings.dataset_dir, inputs.latest, prepared, settings.year)
    assert base is not None
    parent = store.parent_view(settings.dataset_dir, inputs.latest).select("paper_id", "aliases")
    found = []
    for used in (base, None):
        with publish.staged(settings.dataset_dir) as candidate:
            rebuilt = merge.merged_candidate(candidate, prepared, parent, 7, used)
            found += [rebuilt, {name: o["sha256"] for name, o in candidate.outputs.items()}]
            if used is not None:
                diffs = [diff_against_parent(
                    inputs.latest, store.scanned_table(settings.dataset_dir, inputs.latest, "papers"),
                    store.scanned_table(settings.dataset_dir, inputs.latest, "appearances"),
                    store.read_manifest(settings.dataset_dir, inputs.latest)["inputs"], candidate.tables(),
                    [p.input_row() for p in prepared], allow_removals=True, only=only,
                ) for only in (rebuilt, None)]
                assert diffs[0] == diffs[1]
    assert found[2] is None  # the full merge rebuilt every paper
    return found[0], found[1], found[3]


@pytest.fixture
def published_seed(tmp_path: Path) -> tuple[Path, Path]:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    assert pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025, row_group_size=7).version == "v1"
    return raw, out


@pytest.mark.parametrize("added", [
    {"zz_daily.json": FIXTURES / "hf_json" / "daily_2025-03-14.json", "zz_listing.txt": FIXTURES / "arxiv_listing" / "listing.txt"},
    {"000_first.json": FIXTURES / "hf_json" / "daily_2025-03-14.json", "zz_feed.xml": FIXTURES / "feeds" / "rss_new.xml"},
    {"zz_reid.json": REIDENTIFYING},
    {"001_again.txt": SEED},
], ids=["new-files-after", "new-files-around", "reidentifies-a-title-id", "re-sights-every-paper"])
def test_merging_over_latest_writes_what_a_full_merge_writes(published_seed, added):
    raw, out = published_seed
    for name, content in added.items():
        (raw / name).write_bytes(content.read_bytes() if isinstance(content, Path) else content.encode())
    rebuilt, outputs, outputs_all = _both_ways(raw, out)
    assert outputs == outputs_all
    assert 0 < rebuilt.len() <= pl.read_parquet(out / "papers" / "v1" / "papers.parquet").height + 200


def test_a_reidentified_paper_is_rebuilt_and_keeps_its_title_id_as_alias(published_seed):
    raw, out = published_seed
    (raw / "zz_reid.json").write_text(REIDENTIFYING)
    rebuilt, _, _ = _both_ways(raw, out)
    assert rebuilt.len() == 2  # the new arXiv paper and the title-id paper it absorbs
    result = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025, row_group_size=7)
    papers = pl.read_parquet(out / "papers" / result.version / "papers.parquet")
    ac3d = papers.filter(pl.col("paper_id") == "arxiv:2411.18673").row(0, named=True)
    assert ac3d["aliases"] and ac3d["aliases"][0].startswith("title:")
    assert papers.height == pl.read_parquet(out / "papers" / "v1" / "papers.parquet").height


def test_no_base_when_an_input_changed_or_the_code_differs(published_seed):
    raw, out = published_seed
    settings = Settings(raw_dir=raw, out_dir=out, year=2025)
    (raw / "zz_daily.json").write_bytes((FIXTURES / "hf_json" / "daily_2025-03-14.json").read_bytes())
    prepared = prepared_files(listed_inputs(settings).jobs, 1)
    assert merge.base_version(settings.dataset_dir, "v1", prepared, 2025).new_paths == {"zz_daily.json"}
    assert merge.base_version(settings.dataset_dir, "v1", prepared, 2024) is None  # another --year
    (raw / SEED.name).write_bytes(SEED.read_bytes() + b"\n")
    assert merge.base_version(settings.dataset_dir, "v1", prepared_files(listed_inputs(settings).jobs, 1), 2025) is None


def test_a_code_change_that_gave_latest_again_keeps_latest_as_base(published_seed, monkeypatch):
    from flows import fingerprint
    from flows.fingerprint import run_fingerprint

    raw, out = published_seed
    settings = Settings(raw_dir=raw, out_dir=out, year=2025)
    (raw / "zz_daily.json").write_bytes((FIXTURES / "hf_json" / "daily_2025-03-14.json").read_bytes())
    prepared = prepared_files(listed_inputs(settings).jobs, 1)
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "other code")
    assert merge.base_version(settings.dataset_dir, "v1", prepared, 2025, settings.runs_cache_dir) is None
    # The other code, run on v1's inputs, gave v1's content again: the run remembered it (publish.remember_run).
    publish.remember_run(settings.runs_cache_dir, run_fingerprint([(SEED.name, prepared[0].sha256)], 2025), "v1")
    base = merge.base_version(settings.dataset_dir, "v1", prepared, 2025, settings.runs_cache_dir)
    assert base is not None and base.new_paths == {"zz_daily.json"}
