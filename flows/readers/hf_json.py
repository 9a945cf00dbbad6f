"""Reader for Hugging Face daily-papers API responses saved as JSON (FORMATS §2): one record per array item.

Ids stay the text the API sent, never a float; a file cut mid-array keeps its whole items and quarantines the
rest; each item is read as flows/readers/hf_api.py says (its digest day: the daily list's, else the file name's).
Also takes a single item object or a {"papers": [...]} wrapper. Nothing is cleaned: titles and abstracts keep
their LaTeX and hard line breaks.
"""

from __future__ import annotations

import bisect
import json
import re

from flows.readers.base import Dump, Parsed, quarantine_frame, records_frame
from flows.readers.hf_api import NumberText, api_record, list_days
from flows.readers.vocabulary import provenance, quarantine_row

HF_KEYS = re.compile(r'"(?:paper|title|summary)"\s*:')
PAPER_KEY = re.compile(r'"paper"[ \t\n]*:[ \t\n]*\{')  # no \s* run shared by two matches: linear
WRAPPER_KEYS = frozenset({"papers", "dailyPapers", "daily_papers"})
EMPTY_ARRAY = re.compile(r"\s*\[\s*\]\s*")
# strict=False: raw newlines inside strings are accepted, so an unterminated string can only mean a cut file.
_DECODER = json.JSONDecoder(parse_float=NumberText, parse_int=NumberText, strict=False)
_WS = re.compile(r"\s*")


class HfDailyJson:
    """Hugging Face daily-papers API JSON: one record per item, id and version from paper.id.

    >>> # [{"paper": {"id": "2503.02130", "title": "T", "submittedOnDailyAt": "2025-03-13T01:02:03.000Z"}}]
    >>> # -> arxiv_id "2503.02130", digest_date 2025-03-13 from "submittedOnDailyAt"
    """

    name = "hf_daily_json"
    rank = 1  # the API's own metadata, copied from arXiv by Hugging Face
    announces = '"paper" objects'

    def census(self, text: str) -> int:
        """Keys `"paper": {` in the raw text: one per item of every API shape that wraps a paper object."""
        return sum(1 for _ in PAPER_KEY.finditer(text))

    def sniff(self, text: str) -> bool:
        head = text[:20000].lstrip()
        if not head.startswith(("[", "{")):
            return False
        # An empty API answer (a day without papers) is still this format, read as zero records.
        return bool(EMPTY_ARRAY.fullmatch(text) or HF_KEYS.search(head) or re.search(r'"papers"\s*:', head))

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        newlines = [m.start() for m in re.finditer("\n", text)]

        def line_at(offset: int) -> int:
            return bisect.bisect_left(newlines, offset) + 1

        items, tail = json_items(text)
        listed = list_days([item for _, _, item in items if isinstance(item, dict)])
        rows, problems = [], []
        for position, (start, end, item) in enumerate(items, start=1):
            row = api_record(item) if isinstance(item, dict) else "item is not a JSON object"
            if isinstance(row, str):
                problems.append(quarantine_row(dump, f"item {position}", row, text[start:end]))
                continue
            place = provenance(dump, self.name, listed.digest(item, dump, year))
            rows.append({**place, "position": position, "line": line_at(start), **row})
        if tail is not None:
            offset, reason = tail
            problems.append(quarantine_row(dump, f"line {line_at(offset)}", reason, text[offset:]))
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)


def json_items(text: str) -> tuple[list[tuple[int, int, object]], tuple[int, str] | None]:
    """Top-level items as (start, end, value), and (offset, reason) where reading stopped early, else None.

    >>> json_items('[{"a": 1}, {"b"')
    ([(1, 9, {'a': '1'})], (11, 'truncated JSON'))
    """
    pos = _WS.match(text).end()
    wrapped = False
    if text.startswith("{", pos):
        array_at = _wrapped_array(text, pos)
        if array_at is None:
            try:
                value, end = _DECODER.raw_decode(text, pos)
            except (json.JSONDecodeError, RecursionError) as exc:
                return [], (pos, _failure(text, exc))
            return [(pos, end, value)], _trailing(text, end)
        pos, wrapped = array_at, True
    if not text.startswith("[", pos):
        return [], (pos, "not a JSON array or object")
    items: list[tuple[int, int, object]] = []
    pos = _WS.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return items, None if wrapped else _trailing(text, pos + 1)
    while True:
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            return items, (pos, _failure(text, exc))
        items.append((pos, end, value))
        pos = _WS.match(text, end).end()
        if pos >= len(text):
            return items, (pos, "truncated JSON")
        if text[pos] == "]":
            # The rest of a wrapper object (counts, cursors) is not papers.
            return items, None if wrapped else _trailing(text, pos + 1)
        if text[pos] != ",":
            return items, (
                pos,
                "malformed JSON: expected ',' or ']' between items; rest of the file not read",
            )
        pos = _WS.match(text, pos + 1).end()
        if pos >= len(text):
            return items, (pos, "truncated JSON")


def _wrapped_array(text: str, pos: int) -> int | None:
    """Offset of the '[' of a {"papers": [...]}-style wrapper's list, or None for any other object."""
    pos = _WS.match(text, pos + 1).end()
    try:
        while text.startswith('"', pos):
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if not text.startswith(":", pos):
                return None
            pos = _WS.match(text, pos + 1).end()
            if key in WRAPPER_KEYS and text.startswith("[", pos):
                return pos
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if not text.startswith(",", pos):
                return None
            pos = _WS.match(text, pos + 1).end()
    except (json.JSONDecodeError, RecursionError):
        return None
    return None


def _failure(text: str, exc: json.JSONDecodeError | RecursionError) -> str:
    """Why decoding stopped: a cut file (the error sits in the last few characters) or a real syntax error."""
    if isinstance(exc, RecursionError):
        return "malformed JSON (nested too deeply); rest of the file not read"
    # The decoder points at the start of a cut token: at most "false" (5 characters) remains after it.
    if exc.msg.startswith("Unterminated string") or len(text[exc.pos :].strip()) < 6:
        return "truncated JSON"
    return f"malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); rest of the file not read"


def _trailing(text: str, end: int) -> tuple[int, str] | None:
    pos = _WS.match(text, end).end()
    return None if pos >= len(text) else (pos, "unexpected content after the JSON value")
