"""Publishing: atomic promotion, the latest pointer, unchanged detection, the lock, version names."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os

import polars as pl
import pyarrow as pa
import pytest

from flows import publish, recovery, store

_IDS = pa.schema([pa.field("paper_id", pa.string(), nullable=False)])


def _staged(dataset_dir, n: int) -> publish.Candidate:
    candidate = publish.new_candidate(dataset_dir)
    ids = pl.DataFrame({"paper_id": [f"title:{i:016x}" for i in range(n)]})
    publish.write_table(candidate, "papers", [ids], _IDS, row_group_size=1000)
    return candidate


def _publish(dataset_dir, n: int) -> str:
    candidate = _staged(dataset_dir, n)
    if publish.same_as_latest(dataset_dir, candidate):
        publish.discard(candidate)
        return "unchanged"
    name = store.next_version_name(dataset_dir)
    outputs = [{"file": f, **o} for f, o in candidate.outputs.items()]
    publish.promoted(dataset_dir, candidate, name, {"version": name, "outputs": outputs, "parent": None})
    return name


def test_versions_are_numbered_and_latest_follows(tmp_path):
    ds = tmp_path / "papers"
    assert store.version_names(ds) == [] and store.latest_name(ds) is None
    assert _publish(ds, 3) == "v1"
    assert _publish(ds, 3) == "unchanged"
    assert _publish(ds, 4) == "v2"
    assert store.version_names(ds) == ["v1", "v2"]
    assert (ds / "latest").read_text() == "v2\n"
    assert store.resolved_version(ds, "latest") == "v2"
    assert store.resolved_version(ds, "1") == "v1"
    assert json.loads((ds / "v2" / "manifest.json").read_text())["version"] == "v2"
    assert not list(ds.glob(".candidate-*")), "no candidate directory is left behind"
    with pytest.raises(store.VersionNotFound):
        store.resolved_version(ds, "v9")


def test_ten_versions_sort_numerically(tmp_path):
    ds = tmp_path / "papers"
    for n in range(1, 12):
        _publish(ds, n)
    assert store.version_names(ds)[-3:] == ["v9", "v10", "v11"]
    assert store.next_version_name(ds) == "v12"


def test_a_published_version_is_never_overwritten(tmp_path):
    ds = tmp_path / "papers"
    _publish(ds, 2)
    before = (ds / "v1" / "papers.parquet").read_bytes()
    candidate = _staged(ds, 5)
    with pytest.raises(OSError):
        publish.promoted(ds, candidate, "v1", {"version": "v1", "outputs": []})
    assert (ds / "v1" / "papers.parquet").read_bytes() == before
    assert store.latest_name(ds) == "v1"


def test_crashed_candidates_are_cleared_and_never_read(tmp_path):
    ds = tmp_path / "papers"
    _publish(ds, 2)
    (ds / ".candidate-deadbeef").mkdir()
    assert store.version_names(ds) == ["v1"]
    with recovery.dataset_lock(ds):
        assert [p.name for p in recovery.cleared_stale_candidates(ds)] == [".candidate-deadbeef"]


def _hold_lock(dataset_dir, ready, release):
    with recovery.dataset_lock(dataset_dir):
        ready.set()
        release.wait(10)


def test_second_run_is_refused_while_the_lock_is_held(tmp_path):
    ds = tmp_path / "papers"
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(ds, ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        with pytest.raises(recovery.PublishBusy, match="another papers run"):
            with recovery.dataset_lock(ds, timeout_s=0.3):
                pass
    finally:
        release.set()
        holder.join(10)
    with recovery.dataset_lock(ds, timeout_s=1):  # free again once the holder is gone
        pass


def test_pruning_keeps_the_newest_and_latest(tmp_path):
    ds = tmp_path / "papers"
    for n in range(1, 6):
        _publish(ds, n)
    (ds / "latest").write_text("v2\n")  # a rolled-back pointer must be protected too
    with recovery.dataset_lock(ds):
        assert publish.pruned_versions(ds, keep=2) == ["v1", "v3"]
    assert store.version_names(ds) == ["v2", "v4", "v5"]
    assert not list(ds.glob(".removing-*"))
    with pytest.raises(ValueError):
        publish.pruned_versions(ds, keep=0)


def test_the_same_rows_give_the_same_bytes_however_they_arrive(tmp_path):
    rows = pl.DataFrame({"paper_id": [f"arxiv:2501.{i:05d}" for i in range(2_500)]})
    ways = {
        "whole": [rows],
        "one by one hundred": [rows.slice(i, 100) for i in range(0, rows.height, 100)],
        "uneven": [rows.head(7), rows.slice(7, 1_993), rows.slice(2_000)],
        "many chunks": [pl.concat([rows.slice(i, 50) for i in range(0, rows.height, 50)], rechunk=False)],
    }
    written = {}
    for name, frames in ways.items():
        candidate = publish.new_candidate(tmp_path / name)
        publish.write_table(candidate, "papers", frames, _IDS, row_group_size=1_000)
        written[name] = (candidate.path / "papers.parquet").read_bytes()
        assert candidate.outputs["papers.parquet"]["rows"] == 2_500
    assert len(set(written.values())) == 1
    assert pl.read_parquet(tmp_path / "whole" / next((tmp_path / "whole").iterdir()).name / "papers.parquet").equals(rows)


def test_free_text_is_written_without_dictionary_or_statistics(tmp_path):
    import pyarrow.parquet as pq

    schema = pa.schema([("paper_id", pa.string()), ("abstract", pa.string()), ("language", pa.string()),
                        ("flags", pa.list_(pa.string()))])
    rows = pl.DataFrame({
        "paper_id": [f"arxiv:2501.{i:05d}" for i in range(300)],
        "abstract": [f"We study problem number {i} in depth." for i in range(300)],
        "language": ["en", "fr", "de"] * 100,
        "flags": [["abstract_missing"], []] * 150,
    })
    # Arrow tables in the schema's types are written as they are, to the same bytes as the Polars frame.
    for name, frames in {"polars": [rows], "arrow": [rows.head(100).to_arrow().cast(schema), rows.slice(100)]}.items():
        candidate = publish.new_candidate(tmp_path / name)
        publish.write_table(candidate, "papers", frames, schema, row_group_size=1_000)
        meta = pq.ParquetFile(candidate.path / "papers.parquet").metadata.row_group(0)
        columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
        assert "RLE_DICTIONARY" not in columns["abstract"].encodings and not columns["abstract"].is_stats_set
        assert "RLE_DICTIONARY" not in columns["paper_id"].encodings
        assert columns["paper_id"].statistics.min == "arxiv:2501.00000"
        assert "RLE_DICTIONARY" in columns["language"].encodings and columns["language"].is_stats_set
        assert "RLE_DICTIONARY" in columns["flags.list.element"].encodings
        assert columns["abstract"].compression == "ZSTD"
    assert (next((tmp_path / "polars").iterdir()) / "papers.parquet").read_bytes() == (
        next((tmp_path / "arrow").iterdir()) / "papers.parquet").read_bytes()


def test_strings_handed_over_as_views_are_stored_as_the_declared_strings(tmp_path):
    """Polars hands its strings to the writer as views (no copy); the file must be the one pyarrow writes from
    plain strings, declaring plain strings and lists, so every reader sees the published schema."""
    import pyarrow.parquet as pq

    from schemas.tables import PAPERS, parquet_layout

    papers = pl.DataFrame({
        "paper_id": ["arxiv:2501.00001", "title:00000000000000ff"],
        "arxiv_id": ["2501.00001", None],
        "title": ["Café au lait: a study", "Learning to rank"],
        "title_raw": ["Caf\\'e au lait: a study", "Learning to rank"],
        "abstract": ["We study milk. " * 20, None],
        "authors": [["Ana Pérez", "Bo Li"], []],
        "categories": [["cs.CL"], []],
        "language": ["en", "en"],
        "first_seen": [dt.date(2025, 1, 2), dt.date(2025, 1, 3)],
        "n_appearances": [2, 1],
        "flags": [[], ["abstract_missing"]],
        "aliases": [["title:0000000000000001"], []],
        "authors_raw": [["Ana P\\'erez", "Bo Li"], None],
    }).with_columns(pl.col("first_seen").alias("last_seen"))
    papers = papers.with_columns(pl.lit(None, pl.String).alias(c) for c in PAPERS.names if c not in papers.columns)
    papers = papers.with_columns(pl.col("published_at").cast(pl.Datetime("us", "UTC")))
    candidate = publish.new_candidate(tmp_path)
    publish.write_table(candidate, "papers", [papers], PAPERS, row_group_size=1_000)
    written = candidate.path / "papers.parquet"

    assert pq.read_schema(written) == PAPERS  # strings, not string views; lists, not large lists
    assert pq.read_table(written).schema.field("authors").type == pa.list_(pa.string())
    plain = papers.select(PAPERS.names).to_arrow().cast(PAPERS)
    pq.write_table(plain, tmp_path / "plain.parquet", compression="zstd", compression_level=3, store_schema=True,
                   row_group_size=1_000, **parquet_layout(PAPERS))
    assert written.read_bytes() == (tmp_path / "plain.parquet").read_bytes()
    assert pl.read_parquet(written).equals(papers.select(PAPERS.names))


def test_promotion_fsyncs_every_file_and_every_directory(tmp_path, monkeypatch):
    ds = tmp_path / "papers"
    candidate = _staged(ds, 3)
    (candidate.path / "report" / "gx").mkdir(parents=True)
    (candidate.path / "report" / "gx" / "index.html").write_text("<p>docs</p>")
    (candidate.path / "README.md").write_text("# card\n")
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    staged = {str(p) for p in candidate.path.rglob("*")} | {str(candidate.path), str(candidate.path / "manifest.json")}
    monkeypatch.setattr(os, "fsync", recording_fsync)
    publish.promoted(ds, candidate, "v1", {"version": "v1", "parent": None, "outputs": []})
    assert len(staged) == 7 and staged <= set(synced), sorted(staged - set(synced))
    assert str(ds) in synced  # the rename itself is made durable
