"""End to end on a mixed raw directory: every format at once, one row per paper across all of them."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED

from flows import clean, pipeline, store

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location("arxiv_listing_make", FIXTURES / "arxiv_listing" / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

LISTING_DAY = dt.date(2026, 1, 6)


def hf_daily_json() -> str:
    """Three seed papers with their ids (title-only in the seed), one new paper, one id ending in 0."""
    items = [
        ("2311.00001", "ART$\\cdot$V: Auto-Regressive Text-to-Video Generation with Diffusion Models", ["Wenming Weng"]),
        ("2009.01719", "Grounded Language Learning Fast and Slow", ["Felix Hill", "Olivier Tieleman"]),
        ("2503.12340", "GUESS:GradUally Enriching SyntheSis for Text-Driven Human Motion Generation", ["Xuehao Gao"]),
        ("2503.10000", "A Paper Only the Daily API Knows", ["Ada Person"]),
    ]
    return json.dumps([
        {"paper": {"id": pid, "title": title, "summary": f"An abstract for {pid}.\nIt wraps like arXiv's.",
                   "authors": [{"_id": str(i), "name": n, "hidden": False} for i, n in enumerate(names)],
                   "publishedAt": "2025-03-12T17:59:58.000Z", "submittedOnDailyAt": "2025-03-14T01:02:03.000Z",
                   "githubRepo": None, "projectPage": None, "withdrawnAt": None, "someNewField": {"x": 1}},
         "title": title, "numComments": 0}
        for pid, title, names in items
    ], indent=1)


def revisions_listing(listing_papers: list[dict]) -> str:
    """A later listing whose replacements revise the titles of two papers announced as new before."""
    revised = []
    for paper in listing_papers[:2]:
        revised.append({**paper, "section": "replaced", "arxiv_version": 2, "abstract_raw": None,
                        "title_raw": "Revised: " + paper["title_raw"], "record_flags": ["replaced"],
                        "_when": paper["_when"] + dt.timedelta(days=3)})
    end = dt.datetime.combine(LISTING_DAY + dt.timedelta(days=3), dt.time(19), dt.UTC)
    lines = [make.RULE, make.RULE, " Submissions to:", "Machine Learning",
             f" received from  {make._listing_stamp(end - dt.timedelta(days=1))}  to  {make._listing_stamp(end)}",
             make.RULE, make.RULE, make.REPLACED_SEPARATOR]
    for paper in revised:
        lines += make._entry_lines(paper)
    return "\n".join(lines + [make.END_SEPARATOR]) + "\n"


def mbox_of(listing: str) -> bytes:
    message = EmailMessage(policy=policy.default.clone(linesep="\n"))
    message["From"] = "arXiv listings <no-reply@arxiv.org>"
    message["Date"] = "Tue, 06 Jan 2026 20:11:45 -0500"
    message["Subject"] = "cs daily Subj-class mailing 1"
    message.set_content(listing, charset="utf-8", cte="quoted-printable")
    return make._mbox([("no-reply@arxiv.org Tue Jan  6 20:11:45 2026", message.as_bytes())])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    raw = tmp_path_factory.mktemp("mixed") / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    (raw / "hf_daily_2025-03-14.json").write_text(hf_daily_json())
    listing = make.make_listing(300, 60, 40, LISTING_DAY)
    (raw / "arxiv_cs_2026-01-06.txt").write_text(listing)
    (raw / "arxiv_cs_2026-01-06.mbox").write_bytes(mbox_of(listing))
    (raw / "arxiv_cs_2026-01-09_revisions.txt").write_text(
        revisions_listing(make.listing_papers(300, 60, 40, LISTING_DAY))
    )
    shutil.copy(FIXTURES / "feeds" / "rss_new.xml", raw / "cs_CL_feed.xml")
    shutil.copy(FIXTURES / "hf_html" / "daily.html", raw / "hf_page.html")
    for name in ("hf_daily_2025-03-14.json", "arxiv_cs_2026-01-06.txt"):
        (raw / f"copy_{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
    for broken in ("hf_json/truncated.json", "arxiv_listing/missing_id.txt", "hf_text/binary.bin"):
        shutil.copy(FIXTURES / broken, raw / ("broken_" + broken.replace("/", "_")))
    out = raw.parent / "out"
    result = pipeline.papers_run(raw_dir=raw, out_dir=out, year=2025)
    version = out / "papers" / result.version
    tables = {t: pl.read_parquet(version / f"{t}.parquet") for t in ("papers", "appearances", "links", "quarantine")}
    return result, tables, store.read_manifest(out / "papers", result.version)


def test_every_format_is_read_and_reconciled(mixed):
    result, tables, manifest = mixed
    assert result.status == "published"
    formats = {i["path"]: i["format"] for i in manifest["inputs"]}
    assert formats["000_c273f1a1012d9d74.txt"] == "hf_papers_text"
    assert formats["hf_daily_2025-03-14.json"] == formats["copy_hf_daily_2025-03-14.json.gz"] == "hf_daily_json"
    assert formats["arxiv_cs_2026-01-06.txt"] == formats["copy_arxiv_cs_2026-01-06.txt.gz"] == "arxiv_listing"
    assert formats["arxiv_cs_2026-01-06.mbox"] == "arxiv_email"
    assert formats["cs_CL_feed.xml"] == "arxiv_feed" and formats["hf_page.html"] == "hf_papers_html"
    counts = manifest["counts"]
    assert counts["raw_records"] == counts["appearances"] + counts["quarantined"]
    assert counts["raw_records"] == sum(i["records"] + i["quarantined"] for i in manifest["inputs"])
    assert tables["appearances"].height == counts["appearances"]


def test_one_row_per_paper_by_id_and_by_title(mixed):
    papers = mixed[1]["papers"]
    assert papers["paper_id"].is_unique().all()
    ids = papers["arxiv_id"].drop_nulls()
    assert ids.is_unique().all()
    keyed = papers.with_columns(clean.title_key("title").alias("key"))
    shared = keyed.filter(pl.col("key").is_duplicated())
    # Two different arXiv ids may share a title (the generator draws titles from few words); a title-only
    # paper must never share its key with any other paper.
    assert shared["arxiv_id"].null_count() == 0 and shared["arxiv_id"].is_unique().all()
    assert keyed.filter(pl.col("arxiv_id").is_null())["key"].is_in(shared["key"].implode()).sum() == 0
    # 112 seed papers (3 of them now with ids) + 1 JSON-only + 400 listing entries + feed and page papers.
    assert papers.filter(pl.col("arxiv_id").is_in([p["arxiv_id"] for p in
                                                  make.listing_papers(300, 60, 40, LISTING_DAY)])).height == 400


def test_title_only_seed_papers_merge_with_their_ids(mixed):
    papers = mixed[1]["papers"]
    art = papers.filter(pl.col("title").str.starts_with("ART·V"))
    assert art.select("paper_id", "arxiv_id", "n_appearances").rows() == [("arxiv:2311.00001", "2311.00001", 3)]
    assert art["authors"].item().to_list() == ["Wenming Weng"]
    guess = papers.filter(pl.col("arxiv_id") == "2503.12340")
    assert guess["title"].item() == "GUESS: GradUally Enriching SyntheSis for Text-Driven Human Motion Generation"
    assert papers.filter(pl.col("paper_id").str.starts_with("title:")).height == 112 - 3


def test_ids_keep_their_trailing_zeros_everywhere(mixed):
    papers, appearances = mixed[1]["papers"], mixed[1]["appearances"]
    assert papers.schema["arxiv_id"] == pl.String
    assert {"2503.12340", "2503.10000"} <= set(papers["arxiv_id"].drop_nulls())
    assert appearances.filter(pl.col("paper_id") == "arxiv:2503.10000").height == 2  # JSON + its gzip copy


def test_listing_titles_authors_sections_and_replacements(mixed):
    papers, appearances = mixed[1]["papers"], mixed[1]["appearances"]
    expected = make.listing_papers(300, 60, 40, LISTING_DAY)
    by_id = {r["arxiv_id"]: r for r in papers.iter_rows(named=True)}
    for paper in expected[2:]:
        row = by_id[paper["arxiv_id"]]
        assert row["authors"] == paper["authors"], paper["arxiv_id"]
        assert "  " not in row["title"] and "\n" not in row["title"]
        assert set(row["categories"]) == set(paper["categories"])
    for paper in expected[:2]:  # revised three days later: newest title, still one paper
        row = by_id[paper["arxiv_id"]]
        assert row["title"].startswith("Revised: ")
        assert row["abstract"] is not None
        sections = appearances.filter(pl.col("paper_id") == row["paper_id"])["section"].to_list()
        assert sorted(sections) == ["new", "new", "new", "replaced"]  # .txt, .gz copy, .mbox, revision
    cross = [p for p in expected if p["section"] == "cross-list"]
    assert all(len(by_id[p["arxiv_id"]]["categories"]) == len(p["categories"]) for p in cross)


def test_broken_inputs_are_quarantined_with_file_and_location(mixed):
    quarantine = mixed[1]["quarantine"]
    by_file = {r["source_path"]: r for r in quarantine.iter_rows(named=True)}
    assert by_file["broken_hf_text_binary.bin"]["location"] == "byte 0"
    assert "truncated" in by_file["broken_hf_json_truncated.json"]["reason"].lower()
    assert by_file["broken_arxiv_listing_missing_id.txt"]["location"].startswith("line ")
    assert quarantine["location"].str.contains(r"^(line|byte|item|message) ").all()
