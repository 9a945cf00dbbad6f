"""Reader for the HF papers page copied as text: the seed and every edge case real copies show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from conftest import SEED

from flows.extract import Dump, parsed_dump
from schemas.tables import QUARANTINE, RAW_RECORDS, polars_schema

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hf_text"

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


def test_orphan_abstract_is_quarantined_with_its_line():
    parsed = parse(FIXTURES / "orphan_abstract.txt")
    assert parsed.records["title_raw"].to_list() == TITLES[:3]
    q = parsed.quarantine
    assert q.schema == polars_schema(QUARANTINE)
    assert q["location"].to_list() == ["line 11"]
    assert q["reason"].to_list() == ["abstract-like line with no title before it"]
    assert q["raw_text"][0].startswith("We present ARTcdotV, an efficient framework")


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
