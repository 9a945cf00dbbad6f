"""Extract: every file either gives records or is quarantined whole with its reason; decoding, gzip, cut-short."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flows.extract import Dump, dump_cut_short, parsed_dump

FIXTURES = Path(__file__).parent / "fixtures" / "hf_text"


def parse(path: Path, year: int | None = 2025):
    return parsed_dump(Dump.load(path, path.parent), year)


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


@pytest.mark.parametrize(
    ("text", "cut"),
    [("ends at https://github.com/a/b", False), ("a whole sentence.", False), ("the model achie", True),
     ("line\n", False), ('a quote."', False)],
)
def test_cut_short_detection(text, cut):
    assert dump_cut_short(text) is cut


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
