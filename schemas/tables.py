"""Table contracts: one Arrow schema per table, with a one-line meaning per column.

Every stage writes and every test reads against these; the dataset card and the schema docs are generated
from them. Evolution rule: adding a nullable column is allowed; removing or retyping one is not.
"""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pyarrow as pa

STR = pa.string()
STR_LIST = pa.list_(pa.string())
DATE = pa.date32()
TS = pa.timestamp("us", tz="UTC")


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


SOURCE_LINK = pa.struct([pa.field("url", STR), pa.field("kind", STR)])

# What every reader emits, whatever the format: one row per raw record, with provenance.
RAW_RECORDS = pa.schema(
    [
        _f("source_path", STR, "path of the dump, relative to the raw directory", False),
        _f("source_sha256", STR, "sha256 of the dump's bytes", False),
        _f("source_format", STR, "reader that parsed the dump (e.g. hf_papers_text)", False),
        _f("position", pa.int32(), "1-based order of the record in its digest", False),
        _f("line", pa.int32(), "1-based line where the record starts in the (decoded) dump", False),
        _f("digest_date", DATE, "date of the digest the record was seen in"),
        _f("digest_date_source", STR, "where digest_date came from (e.g. header+filename)"),
        _f("section", STR, "listing section: new / cross-list / replaced, or null"),
        _f("arxiv_id", STR, "version-less arXiv id as given by the source, or null"),
        _f("arxiv_version", pa.int32(), "arXiv version number the source shows (2 for v2), or null"),
        _f("title_raw", STR, "title exactly as in the dump", False),
        _f("abstract_raw", STR, "abstract exactly as in the dump, or null when missing"),
        _f("authors", STR_LIST, "author names in order"),
        _f("categories", STR_LIST, "arXiv categories"),
        _f("published_at", TS, "when the paper was published, if the source says"),
        _f("comments", STR, "free-text comments field (pages, venue), or null"),
        _f("journal_ref", STR, "journal reference, or null"),
        _f("doi", STR, "DOI, or null"),
        _f("source_links", pa.list_(SOURCE_LINK), "URLs from structured fields with their kind"),
        _f("record_flags", STR_LIST, "what the reader noticed (e.g. abstract_missing, truncated)"),
    ]
)

PAPERS = pa.schema(
    [
        _f("paper_id", STR, "stable identifier: arxiv:<id> or title:<hash of the normalised title>", False),
        _f("arxiv_id", STR, "version-less arXiv id (e.g. 2411.18673), a string, or null"),
        _f("title", STR, "cleaned title", False),
        _f("title_raw", STR, "title as found in the dump the title was taken from", False),
        _f("abstract", STR, "cleaned abstract, or null"),
        _f("abstract_raw", STR, "abstract as found in the dump, or null"),
        _f("authors", STR_LIST, "author names in order (empty when no source lists them)", False),
        _f("categories", STR_LIST, "arXiv categories (empty when no source lists them)", False),
        _f("language", STR, "ISO 639-1 language of title+abstract (langdetect, seeded), or null"),
        _f("code_url", STR, "canonical URL of the code repository, or null"),
        _f("project_url", STR, "canonical URL of the project page, or null"),
        _f("published_at", TS, "when the paper was published, if any source says"),
        _f("comments", STR, "comments field of the newest sighting that has one, or null"),
        _f("journal_ref", STR, "journal reference, or null"),
        _f("doi", STR, "DOI, or null"),
        _f("first_seen", DATE, "earliest digest date the paper appeared in"),
        _f("last_seen", DATE, "latest digest date the paper appeared in"),
        _f("n_appearances", pa.int32(), "number of digest sightings (rows in appearances)", False),
        _f("flags", STR_LIST, "what cleaning noticed or could not fully fix", False),
        _f("aliases", STR_LIST, "earlier paper_ids of this paper (kept when identity is refined)", False),
        _f("authors_raw", STR_LIST, "author names as the source of `authors` wrote them (TeX accents, 'et al.'); "
           "added after the first versions, so older ones lack it"),
    ]
)

APPEARANCES = pa.schema(
    [
        _f("paper_id", STR, "the paper sighted", False),
        _f("digest_date", DATE, "date of the digest"),
        _f("digest_date_source", STR, "where digest_date came from"),
        _f("source_format", STR, "format of the dump", False),
        _f("source_path", STR, "dump path relative to the raw directory", False),
        _f("source_sha256", STR, "sha256 of the dump", False),
        _f("position", pa.int32(), "1-based order in the digest", False),
        _f("line", pa.int32(), "1-based line of the record in the dump", False),
        _f("section", STR, "listing section (new / cross-list / replaced) or null"),
    ]
)

LINKS = pa.schema(
    [
        _f("paper_id", STR, "the paper the URL belongs to", False),
        _f("url", STR, "canonical URL", False),
        _f("kind", STR, "code / project / video / dataset / paper / other", False),
        _f("host", STR, "lower-case host name of the URL", False),
        _f("url_raw", STR, "URL as found, with any glued punctuation", False),
    ]
)

QUARANTINE = pa.schema(
    [
        _f("source_path", STR, "dump path relative to the raw directory", False),
        _f("source_sha256", STR, "sha256 of the dump", False),
        _f("location", STR, "where in the dump: 'line N', 'byte N', 'item N', 'message K, line N' or 'whole file'",
           False),
        _f("reason", STR, "why the record could not be used", False),
        _f("raw_text", STR, "the unusable text (truncated to 2,000 characters)"),
    ]
)

# How columns are laid out in Parquet. Free text gets neither a dictionary (pyarrow builds one, gives up past
# 1 MB and falls back to plain: at a million papers, reading such a file back took 6.7 s instead of 1.9 s) nor
# min/max statistics (an abstract's prune nothing and bloat the footer). Mostly-distinct values (ids, URLs) keep
# their statistics, which prune lookups by id, but no dictionary.
FREE_TEXT = frozenset({"title", "title_raw", "abstract", "abstract_raw", "comments", "journal_ref", "authors",
                       "authors_raw", "raw_text", "url_raw"})
MOSTLY_DISTINCT = frozenset({"paper_id", "arxiv_id", "doi", "code_url", "project_url", "aliases", "url"})


def parquet_layout(schema: pa.Schema) -> dict[str, list[str]]:
    """pyarrow ParquetWriter options naming the leaf columns that get a dictionary and statistics.

    >>> parquet_layout(pa.schema([("abstract", pa.string()), ("flags", pa.list_(pa.string()))]))
    {'use_dictionary': ['flags.list.element'], 'write_statistics': ['flags.list.element']}
    """
    def leaf(field: pa.Field) -> str:
        return f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name

    return {
        "use_dictionary": [leaf(f) for f in schema if f.name not in FREE_TEXT | MOSTLY_DISTINCT],
        "write_statistics": [leaf(f) for f in schema if f.name not in FREE_TEXT],
    }


PUBLISHED: dict[str, pa.Schema] = {
    "papers": PAPERS,
    "appearances": APPEARANCES,
    "links": LINKS,
    "quarantine": QUARANTINE,
}

LINK_KINDS = ("code", "project", "video", "dataset", "paper", "other")


def polars_schema(schema: pa.Schema) -> pl.Schema:
    """The Polars schema matching an Arrow schema."""
    return pl.Schema(pl.from_arrow(schema.empty_table()).schema)


def empty(schema: pa.Schema) -> pl.DataFrame:
    """An empty Polars frame with the table's columns and types."""
    return pl.DataFrame(schema=polars_schema(schema))


def row_count(frame: pl.DataFrame | pl.LazyFrame) -> int:
    """Rows of a table, in memory or lazily scanned (Parquet answers from its metadata)."""
    return frame.height if isinstance(frame, pl.DataFrame) else frame.select(pl.len()).collect().item()


def conform(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """Select and cast the frame's columns into the table's types, as Arrow in `viewed(schema)` (raises if a
    column is missing).

    Polars holds strings as views; handing them over as views copies no text. Converting them to Arrow's plain
    strings copied every text twice (5.8 s for a million papers, more than encoding them).
    """
    selected = frame.select(schema.names).cast(dict(polars_schema(schema)))
    return selected.to_arrow(compat_level=pl.CompatLevel.newest()).cast(viewed(schema))


def viewed(schema: pa.Schema) -> pa.Schema:
    """The schema with strings as string views and lists as large lists: the types Polars hands over without
    copying. Parquet stores both the same way (tests/test_publish.py checks the bytes).

    >>> viewed(pa.schema([pa.field("flags", pa.list_(pa.string()), False)])).field("flags").type
    LargeListType(large_list<item: string_view>)
    """
    def view(t: pa.DataType) -> pa.DataType:
        if t == pa.string():
            return pa.string_view()
        if pa.types.is_list(t):
            item = t.value_field
            return pa.large_list(pa.field(item.name, view(item.type), item.nullable, item.metadata))
        return t

    return pa.schema([pa.field(f.name, view(f.type), f.nullable, f.metadata) for f in schema], metadata=schema.metadata)


def fingerprint(schemas: dict[str, pa.Schema] = PUBLISHED) -> str:
    """sha256 over table names, column names, types and nullability (docs excluded)."""
    described = {
        table: [[f.name, str(f.type), f.nullable] for f in schema] for table, schema in sorted(schemas.items())
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- evolution

def schema_description(schemas: dict[str, pa.Schema] = PUBLISHED) -> dict[str, list[dict]]:
    """Tables -> columns (name, Arrow type, nullable): what a manifest records and evolution compares."""
    return {
        table: [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
        for table, schema in schemas.items()
    }


def schema_violations(old: dict[str, list[dict]], new: dict[str, list[dict]]) -> list[str]:
    """Breaking changes from `old` to `new`: a table or column removed or retyped, a required column added.

    Adding a nullable column (or a new table) is the one allowed change; readers pinned to the old schema
    keep working.

    >>> schema_violations({"t": [{"name": "a", "type": "string", "nullable": True}]}, {"t": []})
    ['t.a removed']
    """
    problems = []
    for table, old_columns in old.items():
        if table not in new:
            problems.append(f"table {table} removed")
            continue
        now = {c["name"]: c for c in new[table]}
        for column in old_columns:
            current = now.get(column["name"])
            if current is None:
                problems.append(f"{table}.{column['name']} removed")
            elif current["type"] != column["type"]:
                problems.append(f"{table}.{column['name']} retyped {column['type']} -> {current['type']}")
            elif column["nullable"] and not current["nullable"]:
                problems.append(f"{table}.{column['name']} became required")
        known = {c["name"] for c in old_columns}
        problems += [
            f"{table}.{c['name']} added as required (new columns must be nullable)"
            for c in new[table]
            if c["name"] not in known and not c["nullable"]
        ]
    return problems


# ---------------------------------------------------------------------------------------------- exports

_JSON_TYPES = {"string": "string", "int32": "integer", "int64": "integer", "date32[day]": "string",
               "timestamp[us, tz=UTC]": "string", "bool": "boolean", "double": "number"}
_JSON_FORMATS = {"date32[day]": "date", "timestamp[us, tz=UTC]": "date-time"}


def _json_type(type_: pa.DataType) -> dict:
    if pa.types.is_list(type_):
        return {"type": "array", "items": _json_type(type_.value_type)}
    if pa.types.is_struct(type_):
        return {
            "type": "object",
            "properties": {f.name: _json_type(f.type) for f in type_},
        }
    out = {"type": _JSON_TYPES[str(type_)]}
    if str(type_) in _JSON_FORMATS:
        out["format"] = _JSON_FORMATS[str(type_)]
    return out


def json_schema(schemas: dict[str, pa.Schema] = PUBLISHED) -> dict:
    """A JSON Schema (2020-12) describing one row of each published table, with the Arrow type beside it."""
    defs = {}
    for table, schema in schemas.items():
        properties = {}
        for f in schema:
            prop = _json_type(f.type)
            if f.nullable:
                prop = {"anyOf": [prop, {"type": "null"}]}
            properties[f.name] = prop | {"description": _doc(f), "x-arrow-type": str(f.type)}
        defs[table] = {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in schema],
            "additionalProperties": True,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "papers dataset tables",
        "description": f"One row of each published table. Schema fingerprint {fingerprint(schemas)}.",
        "$defs": defs,
    }


def schema_markdown(schemas: dict[str, pa.Schema] = PUBLISHED) -> str:
    """Human-readable schema docs: one table per published table, one line per column."""
    lines = [
        "# papers — published tables",
        "",
        "Generated from `schemas/tables.py` by `python -m schemas.tables`; do not edit by hand.",
        f"Schema fingerprint: `{fingerprint(schemas)}`.",
        "",
        "Evolution rule: adding a nullable column is allowed; removing, retyping or adding a required column",
        "refuses to publish unless explicitly allowed (`papers run --allow-schema-change`).",
    ]
    for table, schema in schemas.items():
        lines += ["", f"## {table}", "", "| column | type | nullable | meaning |", "|---|---|---|---|"]
        lines += [
            f"| `{f.name}` | `{f.type}` | {'yes' if f.nullable else 'no'} | {_doc(f)} |" for f in schema
        ]
    return "\n".join(lines) + "\n"


def _doc(field: pa.Field) -> str:
    return (field.metadata or {}).get(b"doc", b"").decode()


EXPORTS = {"SCHEMA.md": lambda: schema_markdown(), "tables.schema.json": lambda: json.dumps(json_schema(), indent=2) + "\n"}


if __name__ == "__main__":
    from pathlib import Path

    here = Path(__file__).parent
    for name, render in EXPORTS.items():
        (here / name).write_text(render())
        print(f"wrote {here / name}")
