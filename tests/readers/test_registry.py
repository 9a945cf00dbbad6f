"""The registry: every reader declares its name and trust rank, identity ranks by them, no reader leans on another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import SEED

from flows import identity
from flows.extract import Dump, parsed_dump
from flows.readers.base import decoded_text
from flows.readers.registry import READERS

FIXTURES = Path(__file__).parents[1] / "fixtures"
READERS_DIR = Path(__file__).parents[2] / "flows" / "readers"
SOURCES = [SEED] + sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix not in (".py", ".md"))


@pytest.mark.parametrize("reader", READERS, ids=lambda r: type(r).__name__)
def test_every_reader_declares_its_name_and_rank_itself(reader):
    own = vars(type(reader))
    assert isinstance(own.get("name"), str) and own["name"]
    assert isinstance(own.get("rank"), int) and own["rank"] >= 0


def test_identity_ranks_every_registered_reader_by_its_own_word():
    assert len({r.name for r in READERS}) == len(READERS)
    assert identity.SOURCE_RANK == {r.name: r.rank for r in READERS}
    assert identity.UNRANKED > max(identity.SOURCE_RANK.values())
    # arXiv's own metadata first, scraped pages last
    assert identity.SOURCE_RANK["arxiv_listing"] < identity.SOURCE_RANK["hf_daily_json"]
    assert identity.SOURCE_RANK["hf_daily_json"] < identity.SOURCE_RANK["hf_papers_html"]
    assert identity.SOURCE_RANK["hf_papers_html"] < identity.SOURCE_RANK["hf_papers_text"]


def test_every_source_format_a_reader_emits_has_a_declared_rank():
    emitted = set()
    for path in SOURCES:
        parsed = parsed_dump(Dump.load(path, path.parent), 2025)
        emitted |= set(parsed.records["source_format"].unique().to_list())
        if not parsed.records.is_empty():
            emitted.add(parsed.source_format)
    assert emitted == set(identity.SOURCE_RANK)  # every format is exercised by a fixture, and ranked


def test_field_precedence_is_data_the_card_can_render():
    fields = [field for field, _ in identity.FIELD_PRECEDENCE]
    assert fields[0] == "title" and "categories" in fields and "authors" in fields
    assert all(rule and not rule.endswith((".", ";")) for _, rule in identity.FIELD_PRECEDENCE)


def _reader_modules() -> set[str]:
    return {type(r).__module__ for r in READERS}


@pytest.mark.parametrize("module", sorted(_reader_modules()))
def test_no_reader_imports_from_a_sibling_reader(module):
    """What two readers share lives in the vocabulary (or another module that is not a reader)."""
    path = READERS_DIR / f"{module.rsplit('.', 1)[-1]}.py"
    imported = {
        node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)
    }
    assert not (imported & (_reader_modules() - {module}))


# Which readers may claim a fixture of each folder; every other reader must decline it.
CLAIMANTS = {
    "hf_text": {"hf_papers_text"},
    "hf_json": {"hf_daily_json"},
    "feeds": {"arxiv_feed"},
    "hf_html": {"hf_papers_html"},
    "arxiv_listing": {"arxiv_listing", "arxiv_email"},
}
ALL_FIXTURES = [SEED] + sorted(
    p for folder in CLAIMANTS for p in (FIXTURES / folder).iterdir() if p.is_file() and p.suffix != ".py"
)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_reader_claims_another_formats_fixture(path):
    text = decoded_text(path.read_bytes())[0]
    claimed = {reader.name for reader in READERS if reader.sniff(text)}
    allowed = CLAIMANTS.get(path.parent.name, {"hf_papers_text"})
    assert claimed <= allowed, claimed
