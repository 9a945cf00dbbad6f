"""Fingerprints of the code: what decides whether a kept result, or a whole published version, is still valid.

A fingerprint is a sha256 over source files and the versions of the libraries they call. Nothing here reads
data or writes files.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The code whose output a prepared file is (flows/prepare.py): readers, cleaning, language, title ids, and the
# per-value runner they share (flows/parallel.py).
RULE_SOURCES = ("flows/readers", "flows/extract.py", "flows/clean", "flows/language.py", "flows/parallel.py",
                "flows/prepare.py", "flows/identity.py", "schemas/tables.py", "schemas/patterns.py")
RULE_LIBRARIES = ("polars", "pylatexenc", "ftfy", "langdetect-rs")
# Everything that shapes a published version, from the files to the report.
CODE_SOURCES = ("flows", "schemas")
CODE_LIBRARIES = (*RULE_LIBRARIES, "pyarrow", "great-expectations", "pandas", "jinja2")
# What a folder's source is: Python, and the Jinja2 templates the report and the card are rendered from.
SOURCE_SUFFIXES = (".py", ".j2")


def source_fingerprint(sources: tuple[str, ...], libraries: tuple[str, ...]) -> str:
    """sha256 over the named files (folders: every .py and .j2 file under them) and library versions."""
    digest = hashlib.sha256()
    for source in sources:
        path = ROOT / source
        files = sorted(f for f in path.rglob("*") if f.suffix in SOURCE_SUFFIXES) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    for library in libraries:
        digest.update(f"{library}=={version(library)}\0".encode())
    return digest.hexdigest()


@cache
def rules_fingerprint() -> str:
    """Fingerprint of the per-file rules: a change invalidates every kept per-file result."""
    return source_fingerprint(RULE_SOURCES, RULE_LIBRARIES)


@cache
def code_fingerprint() -> str:
    """Fingerprint of the whole pipeline's code."""
    return source_fingerprint(CODE_SOURCES, CODE_LIBRARIES)


def run_fingerprint(inputs: list[tuple[str, str]], year: int | None) -> str:
    """What a run's output depends on, besides file times: the inputs (path, sha256), --year and the code.

    Two runs with the same run fingerprint publish the same content (file-time-dated digests aside, which the
    manifest lists with the day they were dated by).
    """
    basis = {"inputs": sorted(inputs), "year": year, "code": code_fingerprint()}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
