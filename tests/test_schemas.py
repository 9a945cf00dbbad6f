"""The written-down schema: exports match the code, and the evolution rule refuses breaking changes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from schemas import tables
from schemas.tables import PUBLISHED, schema_description, schema_violations

SCHEMAS_DIR = Path(tables.__file__).parent


@pytest.mark.parametrize("name", sorted(tables.EXPORTS))
def test_committed_exports_match_the_code(name):
    committed = (SCHEMAS_DIR / name).read_text()
    assert committed == tables.EXPORTS[name](), f"run `python -m schemas.tables` to refresh schemas/{name}"


def test_json_schema_lists_every_column_with_its_arrow_type():
    doc = json.loads((SCHEMAS_DIR / "tables.schema.json").read_text())
    for table, schema in PUBLISHED.items():
        props = doc["$defs"][table]["properties"]
        assert list(props) == schema.names
        assert {n: p["x-arrow-type"] for n, p in props.items()} == {f.name: str(f.type) for f in schema}
    arxiv = doc["$defs"]["papers"]["properties"]["arxiv_id"]
    assert arxiv["anyOf"][0] == {"type": "string"}  # an id is text, never a number


def test_every_column_is_documented():
    for table, schema in PUBLISHED.items():
        for field in schema:
            assert (field.metadata or {}).get(b"doc"), f"{table}.{field.name} has no doc"


def _described(*fields: pa.Field) -> dict:
    return schema_description({"papers": pa.schema(list(fields))})


BASE = (pa.field("paper_id", pa.string(), nullable=False), pa.field("title", pa.string()))


@pytest.mark.parametrize(
    ("new", "problems"),
    [
        (BASE, []),
        (BASE + (pa.field("score", pa.float64()),), []),
        (BASE[:1], ["papers.title removed"]),
        ((BASE[0], pa.field("title", pa.large_string())), ["papers.title retyped string -> large_string"]),
        ((BASE[0], pa.field("title", pa.string(), nullable=False)), ["papers.title became required"]),
        (BASE + (pa.field("score", pa.float64(), nullable=False),),
         ["papers.score added as required (new columns must be nullable)"]),
    ],
)
def test_evolution_rule(new, problems):
    assert schema_violations(_described(*BASE), _described(*new)) == problems


def test_a_removed_table_is_a_violation():
    assert schema_violations(_described(*BASE), {}) == ["table papers removed"]
