"""Readers: the HF papers-page text reader on the seed and on every edge case real copies show."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flows.extract import Dump, dump_cut_short, parsed_dump, resolved_digest_date
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parent / "fixtures" / "hf_text"
SEED = Path(__file__).parents[1] / "data" / "raw" / "000_c273f1a1012d9d74.txt"

TITLES = [
    "AC3D: Analyzing and Improving 3D Camera Control in Video Diffusion Transformers",
    "Long-Term Photometric Consistent Novel View Synthesis with Diffusion Models",
    "Dichotomy of Control: Separating What You Can Control from What You Cannot",
    "ARTcdotV: Auto-Regressive Text-to-Video Generation with Diffusion Models",
]


def parse(path: Path, year: int | None = 2025):
    return parsed_dump(Dump.load(path, path.parent), year)


def test_seed_gives_112_records_with_provenance():
    parsed = parse(SEED)
    records = parsed.records
    assert parsed.source_format == "hf_papers_text"
    assert records.schema == polars_schema(RAW_RECORDS)
    assert records.height == 112 and parsed.quarantine.height == 0
    assert records["position"].to_list() == list(range(1, 113))
    assert records["title_raw"].head(4).to_list() == TITLES
    assert records["line"].head(3).to_list() == [11, 15, 19]
    assert records["abstract_raw"].null_count() == 0
    assert records["abstract_raw"][0].startswith("Numerous works have recently integrated 3D camera control")
    assert records["title_raw"][-1] == "ReLIC: A Recipe for 64k Steps of In-Context Reinforcement Learning for Embodied AI"
    assert records["abstract_raw"][-1].endswith("https://github.com/aielawady/relic")
    # The seed ends without a newline but with a whole sentence: it is not truncated.
    assert records["record_flags"].list.len().sum() == 0
    assert records["digest_date"].unique().to_list() == [dt.date(2025, 3, 13)]
    assert records["digest_date_source"].unique().to_list() == ["header+year_option"]
    assert records["source_sha256"][0] == "dedb1a0974ebf1cff11c7bde5319a04e751707eee692f831594e937a6c084aa6"


@pytest.mark.parametrize(
    "fixture",
    ["basic.txt", "crlf_bom.txt", "nbsp.txt", "blank_lines.txt", "no_header.txt", "translated_header.txt"],
)
def test_layout_variants_give_the_same_records(fixture):
    reference = parse(FIXTURES / "basic.txt").records
    records = parse(FIXTURES / fixture).records
    assert records["title_raw"].str.replace_all("\xa0", " ").to_list() == TITLES
    assert records["abstract_raw"].to_list() == reference["abstract_raw"].to_list()
    assert records["position"].to_list() == [1, 2, 3, 4]


def test_header_date_and_its_source_survive_translation_and_nbsp():
    for fixture in ("basic.txt", "translated_header.txt", "nbsp.txt", "crlf_bom.txt"):
        records = parse(FIXTURES / fixture).records
        assert records["digest_date"].unique().to_list() == [dt.date(2025, 3, 13)], fixture
    no_header = parse(FIXTURES / "no_header.txt").records
    assert no_header["digest_date_source"].unique().to_list() == ["file_mtime"]


def test_missing_abstract_does_not_shift_later_records():
    parsed = parse(FIXTURES / "missing_abstract.txt")
    records = parsed.records
    basic = parse(FIXTURES / "basic.txt").records
    assert records["title_raw"].to_list() == TITLES
    assert records["abstract_raw"][1] is None
    assert records["record_flags"][1].to_list() == ["abstract_missing"]
    assert records["abstract_raw"][2] == basic["abstract_raw"][2]
    assert records["abstract_raw"][3] == basic["abstract_raw"][3]
    assert parsed.quarantine.height == 0


def test_truncated_last_record_is_kept_and_flagged():
    records = parse(FIXTURES / "truncated.txt").records
    assert records.height == 4
    assert records["record_flags"].to_list() == [[], [], [], ["truncated"]]
    assert records["abstract_raw"][3].startswith("We present ARTcdotV, an efficient framework")


@pytest.mark.parametrize(
    ("text", "cut"),
    [("ends at https://github.com/a/b", False), ("a whole sentence.", False), ("the model achie", True),
     ("line\n", False), ('a quote."', False)],
)
def test_cut_short_detection(text, cut):
    assert dump_cut_short(text) is cut


def test_orphan_abstract_is_quarantined_with_its_line():
    parsed = parse(FIXTURES / "orphan_abstract.txt")
    assert parsed.records["title_raw"].to_list() == TITLES[:3]
    q = parsed.quarantine
    assert q.schema == polars_schema(QUARANTINE)
    assert q["location"].to_list() == ["line 11"]
    assert q["reason"].to_list() == ["abstract-like line with no title before it"]
    assert q["raw_text"][0].startswith("We present ARTcdotV, an efficient framework")


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("empty.txt", "empty file"), ("binary.bin", "binary content, not a text dump")],
)
def test_unusable_files_are_quarantined_whole(fixture, reason):
    parsed = parse(FIXTURES / fixture)
    assert parsed.records.height == 0
    assert parsed.quarantine.select("source_path", "location", "reason").rows() == [(fixture, "byte 0", reason)]


def test_unknown_format_is_quarantined(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("{\"not\": \"a digest\"}\n")
    parsed = parse(path)
    assert parsed.records.height == 0
    assert parsed.quarantine["reason"].to_list() == ["unrecognised dump format (no reader matched)"]


def test_cp1252_dump_is_decoded_and_flagged():
    records = parse(FIXTURES / "cp1252.txt").records
    assert records["title_raw"][0].startswith("AC3D: Café Analyzing")
    assert records["record_flags"][0].to_list() == ["decoded_as_cp1252"]


def test_gzip_copy_reads_the_same(tmp_path):
    path = tmp_path / "basic.txt.gz"
    path.write_bytes(gzip.compress((FIXTURES / "basic.txt").read_bytes()))
    plain, packed = parse(FIXTURES / "basic.txt").records, parse(path).records
    assert packed["source_sha256"][0] != plain["source_sha256"][0]
    assert_frame_equal(
        packed.drop("source_path", "source_sha256"), plain.drop("source_path", "source_sha256")
    )


def _dump(tmp_path: Path, name: str, mtime: dt.datetime) -> Dump:
    path = tmp_path / name
    shutil.copy(FIXTURES / "basic.txt", path)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return Dump.load(path, tmp_path)


@pytest.mark.parametrize(
    ("name", "year", "month_day", "expected", "source"),
    [
        ("hf-2024-trending.txt", 2023, (3, 13), dt.date(2024, 3, 13), "header+filename"),
        ("000_c273f1a1012d9d74.txt", 2023, (3, 13), dt.date(2023, 3, 13), "header+year_option"),
        ("000_c273f1a1012d9d74.txt", None, (3, 13), dt.date(2026, 3, 13), "header+file_mtime"),
        # Saved in January: a December header belongs to the year before.
        ("000_c273f1a1012d9d74.txt", None, (12, 30), dt.date(2025, 12, 30), "header+file_mtime"),
        ("digest_20250314.txt", None, (None, None), dt.date(2025, 3, 14), "filename"),
    ],
)
def test_digest_date_resolution_order(tmp_path, name, year, month_day, expected, source):
    saved = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc) if month_day == (12, 30) else dt.datetime(
        2026, 11, 25, 12, tzinfo=dt.timezone.utc
    )
    dump = _dump(tmp_path, name, saved)
    assert resolved_digest_date(*month_day, None, dump, year) == (expected, source)


@pytest.mark.parametrize(
    ("line", "is_abstract"),
    [
        ("RLEEGNet: Integrating Brain-Computer Interfaces with Adaptive AI for Intuitive Responsiveness and "
         "High-Accuracy Motor Imagery Classification", False),
        ("A Study (Extended Abstract)", False),
        ("Is Model Ensemble Necessary? Model-based RL via a Single Model with Lipschitz Regularized Value Function",
         False),
        ("Proponemos un nuevo método de aprendizaje automático que mejora la generación de imágenes a partir de "
         "texto y reduce el coste computacional de los modelos de difusión de forma considerable. (17962)", True),
        ("We propose a short abstract that still reads as one plain sentence of prose.", False),
        ("We propose a short abstract that still reads as one plain sentence of prose, long enough to count.", True),
    ],
)
def test_titles_and_abstracts_are_told_apart_by_content(line, is_abstract):
    from flows.readers.hf_text import abstract_like

    assert pl.DataFrame({"t": [line]}).select(abstract_like(pl.col("t"))).item() is is_abstract


# Which readers may claim a fixture of each folder; every other reader must decline it.
CLAIMANTS = {
    "hf_text": {"hf_papers_text"},
    "hf_json": {"hf_daily_json"},
    "feeds": {"arxiv_feed"},
    "hf_html": {"hf_papers_html"},
    "arxiv_listing": {"arxiv_listing", "arxiv_email"},
}
ALL_FIXTURES = [SEED] + sorted(
    p for folder in CLAIMANTS for p in (FIXTURES.parent / folder).iterdir() if p.is_file() and p.suffix != ".py"
)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_reader_claims_another_formats_fixture(path):
    from flows.extract import READERS
    from flows.readers.base import decoded_text

    text = decoded_text(path.read_bytes())[0]
    claimed = {reader.name for reader in READERS if reader.sniff(text)}
    allowed = CLAIMANTS.get(path.parent.name, {"hf_papers_text"})
    assert claimed <= allowed, claimed


def _seed_blocks() -> list[str]:
    return SEED.read_text(encoding="utf-8").split("\n\n")


def test_a_sentence_like_title_in_a_regular_layout_keeps_its_record(tmp_path):
    # A long question as title reads like an abstract; the regular title / abstract alternation decides.
    blocks = _seed_blocks()
    question = ("Can Large Language Models Really Replace Human Annotators in Every Low-Resource Setting We Care "
                "About, and at What Cost to the Quality of the Resulting Datasets?")
    abstract = blocks[6]
    text = "\n\n".join(blocks[:9] + [question, abstract] + blocks[9:20]) + "\n"
    (tmp_path / "2025-03-13.txt").write_text(text)
    parsed = parse(tmp_path / "2025-03-13.txt")
    assert parsed.quarantine.height == 0
    titles = parsed.records["title_raw"].to_list()
    assert question in titles
    row = parsed.records.filter(pl.col("title_raw") == question)
    assert row["abstract_raw"].to_list() == [abstract]
    assert parsed.records.height == 2 + 1 + 6  # two before, the question, six after (the last without abstract)


def test_papers_copied_above_the_date_line_are_kept(tmp_path):
    blocks = _seed_blocks()
    header, date, papers = blocks[:4], blocks[4], blocks[5:13]
    assert date == "Mar 13"
    text = "\n\n".join(header + papers[:4] + [date] + papers[4:]) + "\n"
    (tmp_path / "2025-03-13.txt").write_text(text)
    parsed = parse(tmp_path / "2025-03-13.txt")
    assert parsed.records["title_raw"].to_list() == papers[0::2]
    assert parsed.records["digest_date"].unique().to_list() == [dt.date(2025, 3, 13)]
    assert parsed.quarantine.height == 0


def test_header_lines_below_copied_papers_stay_header(tmp_path):
    """Papers pasted above the whole page header: the header's own lines must not become papers titled "new"."""
    blocks = _seed_blocks()
    header, date, papers = blocks[:4], blocks[4], blocks[5:13]
    text = "\n\n".join(papers[:4] + header + [date] + papers[4:]) + "\n"
    (tmp_path / "2025-03-13.txt").write_text(text)
    parsed = parse(tmp_path / "2025-03-13.txt")
    assert parsed.records["title_raw"].to_list() == papers[0::2]
    assert parsed.quarantine.height == 0


def _cut_short_by_the_old_regex(text: str) -> bool:
    """The original check (quadratic on long lines full of "http://"), kept as the reference behaviour."""
    import re

    if text.endswith("\n"):
        return False
    return not re.search(r"([.!?][\"')\]]?|https?://\S+)$", text.rsplit("\n", 1)[-1].strip())


@given(st.text(alphabet=st.sampled_from(list("ab .!?\"')]\n\t:/htps")), max_size=60))
def test_cut_short_check_agrees_with_the_old_regex(text):
    assert dump_cut_short(text) is _cut_short_by_the_old_regex(text)


@pytest.mark.parametrize(
    ("data", "binary"),
    [(b"A title with one stray \x00 NUL\n", False), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True),
     ("UTF-16 text".encode("utf-16-le"), True), (b"plain text\n", False)],
)
def test_a_stray_nul_does_not_make_a_text_binary(data, binary):
    from flows.readers.base import looks_binary

    assert looks_binary(data) is binary
