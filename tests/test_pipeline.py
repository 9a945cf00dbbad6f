"""End to end: the real Prefect flow on the real seed, read back with Polars, DuckDB and pandas."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest
from conftest import SEED
from typer.testing import CliRunner

from flows import identity, pipeline, store
from flows.cli import app
from flows.validate import ValidationBlocked
from schemas.tables import PUBLISHED, polars_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory, request):
    """One real run on the seed (module-scoped: the flow's first start costs seconds)."""
    tmp = tmp_path_factory.mktemp("e2e")
    raw = tmp / "raw"
    raw.mkdir()
    seed = SEED
    shutil.copy(seed, raw / seed.name)
    out = tmp / "out"
    result = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    return result, raw, out, out / "papers" / "v1"


def test_first_run_publishes_v1_with_reconciled_counts(published):
    result, _, out, v1 = published
    assert (result.status, result.version) == ("published", "v1")
    assert result.counts == {"papers": 112, "appearances": 112, "links": 35, "quarantine": 0, "raw_records": 112}
    assert (out / "papers" / "latest").read_text().strip() == "v1"
    manifest = json.loads((v1 / "manifest.json").read_text())
    assert manifest["counts"]["raw_records"] == 112
    assert manifest["counts"]["appearances"] + manifest["counts"]["quarantined"] == 112
    assert manifest["counts"]["reconciles"] is True
    assert manifest["validation"]["success"] is True
    assert manifest["inputs"][0]["sha256"] == "dedb1a0974ebf1cff11c7bde5319a04e751707eee692f831594e937a6c084aa6"
    assert {o["file"] for o in manifest["outputs"]} == {f"{t}.parquet" for t in PUBLISHED}
    assert (v1 / "report" / "index.html").exists() and (v1 / "README.md").exists()
    assert "112" in (v1 / "README.md").read_text()


def test_tables_match_the_schemas(published):
    v1 = published[3]
    for table, schema in PUBLISHED.items():
        assert pl.read_parquet(v1 / f"{table}.parquet").schema == polars_schema(schema), table


def test_titles_are_cleaned(published):
    papers = pl.read_parquet(published[3] / "papers.parquet")
    titles = set(papers["title"])
    assert "ART·V: Auto-Regressive Text-to-Video Generation with Diffusion Models" in titles
    assert "GUESS: GradUally Enriching SyntheSis for Text-Driven Human Motion Generation" in titles
    assert "Jointly-Learned Exit and Inference for a Dynamic Neural Network: JEI-DNN" in titles
    assert not papers.filter(pl.col("title").str.contains(r"cdot|\$|\\")).height
    assert papers["paper_id"].n_unique() == 112
    raw_art = papers.filter(pl.col("title").str.starts_with("ART·V"))["title_raw"].item()
    assert raw_art.startswith("ARTcdotV")


def test_abstracts_are_cleaned_without_losing_text(published):
    papers = pl.read_parquet(published[3] / "papers.parquet")
    abstracts = "\n".join(papers["abstract"])
    for expected in ("e.g.,", "0.6%", "i.i.d", "“reprogrammed”", "“partial updates”", "“anchor”"):
        assert expected in abstracts, expected
    for residue in (r"\eg", r"\%", r"i.\,i", "``", "''"):
        assert residue not in abstracts, residue
    # Nothing is cut at a bare %: every clean abstract keeps nearly all of its raw text.
    ratio = papers.select(pl.col("abstract").str.len_chars() / pl.col("abstract_raw").str.len_chars())
    assert ratio.min().item() > 0.95
    assert "10% higher visual quality" in abstracts


def test_links_hold_every_seed_url_in_canonical_form(published):
    links = pl.read_parquet(published[3] / "links.parquet")
    assert links.height == 35
    urls = dict(zip(links["url"], links["kind"]))
    assert urls["https://github.com/InternLM/OREAL"] == "code"
    assert urls["https://lhchen.top/Human-MAC"] is not None
    assert "https://anonymous0x233.github.io/ReuseAndDiffuse/" in urls
    assert "http://mmlab.ie.cuhk.edu.hk/projects/CMP/" in urls
    assert sorted(u for u, k in urls.items() if k == "video") == [
        "https://youtu.be/XsaGI01b-1o",
        "https://youtu.be/gCuUyGETbTU",
    ]
    assert not links.filter(pl.col("url").str.contains(r"[.,;\"')]$")).height
    papers = pl.read_parquet(published[3] / "papers.parquet")
    oreal = papers.filter(pl.col("code_url") == "https://github.com/InternLM/OREAL")
    assert oreal.height == 1 and "future research https://github.com/InternLM/OREAL" in oreal["abstract"].item()


def test_languages_and_dates(published):
    v1 = published[3]
    papers = pl.read_parquet(v1 / "papers.parquet")
    assert papers["language"].to_list() == ["en"] * 112
    appearances = pl.read_parquet(v1 / "appearances.parquet")
    assert appearances.select("digest_date", "digest_date_source").unique().rows() == [
        (dt.date(2025, 3, 13), "header+year_option")
    ]
    assert sorted(appearances["position"]) == list(range(1, 113))


def test_polars_duckdb_and_pandas_read_the_same_rows(published):
    out = published[2] / "papers"
    latest = (out / "latest").read_text().strip()
    for table in PUBLISHED:
        path = out / latest / f"{table}.parquet"
        n_polars = pl.scan_parquet(path).select(pl.len()).collect().item()
        n_duckdb = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
        n_pandas = len(pd.read_parquet(path))
        assert n_polars == n_duckdb == n_pandas, table
    arxiv_type = duckdb.sql(f"select typeof(arxiv_id) from read_parquet('{out / latest / 'papers.parquet'}') limit 1")
    assert arxiv_type.fetchall()[0][0] == "VARCHAR"


def test_second_run_is_unchanged_and_reuses_extraction(published):
    _, raw, out, _ = published
    again = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    assert (again.status, again.version) == ("unchanged", "v1")
    assert store.version_names(out / "papers") == ["v1"]


def test_cli_run_on_any_directory_and_versions_listing(published, tmp_path):
    _, raw, _, _ = published
    runner = CliRunner()
    out = tmp_path / "cli-out"
    result = runner.invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "published v1" in result.output and "index.html" in result.output
    listing = runner.invoke(app, ["versions", "--out-dir", str(out)])
    assert listing.exit_code == 0 and "v1" in listing.output and "latest" in listing.output
    again = runner.invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025"])
    assert again.exit_code == 0 and "unchanged" in again.output


def test_empty_input_directory_exits_non_zero_with_a_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["run", "--raw-dir", str(empty), "--out-dir", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no dump files" in result.output


def test_new_dump_publishes_v2_and_a_blocking_failure_publishes_nothing(published, tmp_path, monkeypatch):
    _, raw, _, _ = published
    raw2 = tmp_path / "raw2"
    shutil.copytree(raw, raw2)
    out = tmp_path / "out"
    assert pipeline.papers_run(raw_dir=raw2, out_dir=out, year=2025).version == "v1"
    # A second digest: the first 20 records again, a day later, plus one new paper.
    seed_text = (raw / "000_c273f1a1012d9d74.txt").read_text()
    blocks = seed_text.split("\n\n")
    extra = "\n\n".join(blocks[:4] + ["Mar 14"] + blocks[5:45] + [
        "A Brand New Paper on Parsers",
        "We study parsers for digest dumps and show that they can be made robust to every layout variant seen "
        "in practice, with no loss of records.",
    ]) + "\n"
    (raw2 / "001_second.txt").write_text(extra)
    second = pipeline.papers_run(raw_dir=raw2, out_dir=out, year=2025)
    assert (second.status, second.version) == ("published", "v2")
    assert second.counts["papers"] == 113 and second.counts["appearances"] == 112 + 21
    manifest = store.read_manifest(out / "papers", "v2")
    assert manifest["parent"] == "v1" and manifest["diff"]["summary"]["added"] == 1

    # Now a bug upstream of the gate duplicates a paper: validation must block and nothing may move.
    real_texts = identity.papers_with_texts

    def duplicating(chosen, texts, detect):
        papers = real_texts(chosen, texts, detect)
        return pl.concat([papers, papers.head(1)])

    monkeypatch.setattr(identity, "papers_with_texts", duplicating)
    (raw2 / "002_third.txt").write_text(extra.replace("Mar 14", "Mar 15"))
    latest_before = (out / "papers" / "latest").read_bytes()
    v2_files = {p.name: p.read_bytes() for p in (out / "papers" / "v2").iterdir() if p.is_file()}
    with pytest.raises(ValidationBlocked) as blocked:
        pipeline.papers_run(raw_dir=raw2, out_dir=out, year=2025)
    assert "paper_id" in str(blocked.value) and "index.html" in str(blocked.value)
    assert store.version_names(out / "papers") == ["v1", "v2"]
    assert (out / "papers" / "latest").read_bytes() == latest_before
    assert {p.name: p.read_bytes() for p in (out / "papers" / "v2").iterdir() if p.is_file()} == v2_files
    rejected = list((out / "papers" / "rejected").glob("*/report/index.html"))
    assert len(rejected) == 1


def test_a_breaking_schema_change_is_refused_unless_allowed(published, tmp_path):
    _, raw, out, _ = published
    out2, raw2 = tmp_path / "out", tmp_path / "raw"
    shutil.copytree(out, out2)
    shutil.copytree(raw, raw2)
    manifest_path = out2 / "papers" / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # As if v1 had been published by code whose papers table had one more column than today's.
    manifest["schema"]["papers"].append({"name": "legacy_score", "type": "double", "nullable": True})
    manifest_path.write_text(json.dumps(manifest))
    (raw2 / "extra.txt").write_text("Mar 20\n\nA Brand New Paper on Schemas\n\n" + "We study schemas. " * 12 + "\n")
    with pytest.raises(pipeline.SchemaChangeRefused, match="papers.legacy_score removed"):
        pipeline.papers_run(raw_dir=raw2, out_dir=out2, year=2025)
    assert store.version_names(out2 / "papers") == ["v1"]
    assert not list((out2 / "papers").glob(".candidate-*"))
    allowed = pipeline.papers_run(raw_dir=raw2, out_dir=out2, year=2025, allow_schema_change=True)
    assert allowed.version == "v2"


def _digests(directory: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_diff_card_manifest_agree_and_revalidation_touches_no_data(published, tmp_path):
    _, raw, _, _ = published
    raw2, out = tmp_path / "raw", tmp_path / "out"
    shutil.copytree(raw, raw2)
    runner = CliRunner()
    assert runner.invoke(app, ["run", "--raw-dir", str(raw2), "--out-dir", str(out), "--year", "2025"]).exit_code == 0
    # Second input: two new papers, and a revised abstract for one known paper (a newer digest wins).
    (raw2 / "001_next.txt").write_text(
        "Mar 20\n\n"
        "A Brand New Paper on Diffs\n\nWe show how to diff two versions of a dataset of papers in one pass, "
        "with no loss of records.\n\n"
        "Another New Paper on Cards\n\nWe show that dataset cards with counts that reconcile earn more trust "
        "from analysts than cards without them.\n\n"
        "Grounded Language Learning Fast and Slow\n\nA revised abstract: we show that an agent can learn the "
        "meaning of a new word in one shot and use it later.\n"
    )
    result = runner.invoke(app, ["run", "--raw-dir", str(raw2), "--out-dir", str(out), "--year", "2025"])
    assert result.exit_code == 0 and "published v2" in result.output, result.output

    diff = runner.invoke(app, ["diff", "v1", "v2", "--out-dir", str(out), "--json"])
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.output)
    assert data["summary"]["added"] == 2 and data["summary"]["removed"] == 0
    # The revised paper was also seen in a new digest: `papers diff` reports its appearances as changed too.
    assert [c["fields"] for c in data["changed"]] == [["abstract", "digest_dates", "sources"]]
    papers = pl.read_parquet(out / "papers" / "v2" / "papers.parquet")
    added_titles = set(papers.filter(pl.col("paper_id").is_in(data["added"]))["title"])
    assert added_titles == {"A Brand New Paper on Diffs", "Another New Paper on Cards"}
    manifest = store.read_manifest(out / "papers", "v2")
    counts = ("added", "removed", "reidentified", "changed", "unchanged")
    assert {k: manifest["diff"]["summary"][k] for k in counts} == {k: data["summary"][k] for k in counts}
    card = (out / "papers" / "v2" / "README.md").read_text()
    assert "2 added, 0 removed, 0 re-identified, 1 changed, 111 unchanged" in card
    table = runner.invoke(app, ["diff", "previous", "latest", "--out-dir", str(out)])
    assert "v1 -> v2: 2 added" in table.output and "A Brand New Paper on Diffs" in table.output

    v1 = out / "papers" / "v1"
    before = _digests(v1)
    again = runner.invoke(app, ["validate", "v1", "--out-dir", str(out)])
    assert again.exit_code == 0 and "passed" in again.output, again.output
    after = _digests(v1)
    assert {k: v for k, v in after.items() if k in before} == before
    fresh = [k for k in after if k not in before]
    assert fresh and all(k.startswith("report-") for k in fresh)
    assert any(k.endswith("index.html") for k in fresh)



def _schema_rows(markdown: str, heading: str) -> list[tuple[str, str, bool]]:
    """(column, type, nullable) rows of one table section of a Markdown schema listing."""
    section = re.split(r"^#+ ", markdown, flags=re.M)
    body = next(s for s in section if s.startswith(heading + "\n"))
    rows = re.findall(r"^\| `([a-z_0-9]+)` \| `?([^|`]+?)`? \| (yes|no) \|", body, flags=re.M)
    return [(name, _list_type(type_.strip()), nullable == "yes") for name, type_, nullable in rows]


def _list_type(type_: str) -> str:
    """Arrow names a list's child `item`, Parquet round-trips it as `element`: compare without the name."""
    return re.sub(r"list<\w+: ", "list<", type_)


def test_schema_docs_parquet_and_card_agree(published):
    import pyarrow.parquet as pq

    v1 = published[3]
    docs = (Path(__file__).parents[1] / "schemas" / "SCHEMA.md").read_text()
    card = (v1 / "README.md").read_text()
    for table in PUBLISHED:
        arrow = pq.read_schema(v1 / f"{table}.parquet")
        in_file = [(f.name, _list_type(str(f.type)), f.nullable) for f in arrow]
        assert _schema_rows(docs, table) == in_file, table
        assert _schema_rows(card, table) == in_file, table


def test_same_inputs_give_the_same_bytes_and_unchanged_needs_no_pipeline(tmp_path):
    """Two cold runs over one multi-file corpus write byte-identical tables; a rerun says "unchanged" at once."""
    from flows.synthetic import synthetic_corpus

    raw = tmp_path / "raw"
    synthetic_corpus(SEED, raw, 2_400, per_file=400)
    runner = CliRunner()
    digests = []
    for out in (tmp_path / "a", tmp_path / "b"):
        result = runner.invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(out), "--year", "2025"])
        assert result.exit_code == 0, result.output
        manifest = store.read_manifest(out / "papers", "v1")
        digests.append({o["file"]: o["sha256"] for o in manifest["outputs"]})
        assert manifest["counts"]["raw_records"] == 2_400 and manifest["counts"]["reconciles"]
    assert digests[0] == digests[1]
    # Same inputs and code: decided from the manifest's fingerprint, before any file is prepared or merged.
    timings = tmp_path / "t.json"
    again = runner.invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "a"), "--year", "2025",
                                "--timings", str(timings)])
    assert again.exit_code == 0 and "unchanged: inputs and code are those of v1" in again.output
    assert json.loads(timings.read_text()) == {"status": "unchanged", "decided_without_flow": True}
    assert store.version_names(tmp_path / "a" / "papers") == ["v1"]
    # A touched input whose digest date does not depend on its file time changes nothing either.
    first = sorted(raw.iterdir())[0]
    os.utime(first, (first.stat().st_atime, first.stat().st_mtime - 400 * 86_400))
    touched = runner.invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "a"), "--year", "2025"])
    assert touched.exit_code == 0 and "unchanged" in touched.output


def test_a_feed_without_entries_is_a_quiet_day_not_an_error(tmp_path):
    """A real weekend feed alone: one line naming the file, exit 0, no traceback; beside others: 0 records."""
    feed = Path(__file__).parent / "fixtures" / "real" / "feeds" / "cs.AI_no_items_2025-09-18.xml"
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(feed, raw / feed.name)
    result = CliRunner().invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"{feed.name}: arxiv_feed holds no entries: nothing to publish" in result.output
    assert "Traceback" not in result.output
    assert store.version_names(tmp_path / "out" / "papers") == []
    seed = SEED
    shutil.copy(seed, raw / seed.name)
    result = CliRunner().invoke(app, ["run", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out"), "--year", "2025"])
    assert result.exit_code == 0 and "published v1" in result.output
    inputs = {i["path"]: i for i in store.read_manifest(tmp_path / "out" / "papers", "v1")["inputs"]}
    assert (inputs[feed.name]["format"], inputs[feed.name]["records"], inputs[feed.name]["quarantined"]) == (
        "arxiv_feed", 0, 0)
