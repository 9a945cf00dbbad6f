"""Reader for Hugging Face daily-papers API responses saved as JSON (FORMATS §2): one record per array item.

Ids stay the text the API sent, never a float; a file cut mid-array keeps its whole items and quarantines the
rest. The digest date is the day of the daily list, read where each API shape writes it (submittedOnDailyAt,
or in 2024 responses the item's own publishedAt), else from a date in the file name. Also takes a single item object or a {"papers": [...]} wrapper. Nothing is cleaned: titles and abstracts
keep their LaTeX and hard line breaks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass

from flows.readers.base import Dump, Parsed, quarantine_frame, records_frame, resolved_digest_date
from flows.readers.feeds import arxiv_id_parts, instant

HF_KEYS = re.compile(r'"(?:paper|title|summary)"\s*:')
PAPER_KEY = re.compile(r'"paper"[ \t\n]*:[ \t\n]*\{')  # no \s* run shared by two matches: linear
WRAPPER_KEYS = frozenset({"papers", "dailyPapers", "daily_papers"})
EMPTY_ARRAY = re.compile(r"\s*\[\s*\]\s*")
# Ids sent as JSON numbers: a writer that went through a float drops trailing zeros (2503.02130 -> 2503.0213).
NUMERIC_ID = re.compile(r"(?P<yymm>\d{4})\.(?P<digits>\d{1,5})")


class _NumberText(str):
    """A JSON number kept as its source text, so that an id sent as a number keeps its digits."""


# strict=False: raw newlines inside strings are accepted, so an unterminated string can only mean a cut file.
_DECODER = json.JSONDecoder(parse_float=_NumberText, parse_int=_NumberText, strict=False)
_WS = re.compile(r"\s*")


class HfDailyJson:
    """Hugging Face daily-papers API JSON: one record per item, id and version from paper.id.

    >>> # [{"paper": {"id": "2503.02130", "title": "T", "submittedOnDailyAt": "2025-03-13T01:02:03.000Z"}}]
    >>> # -> arxiv_id "2503.02130", digest_date 2025-03-13 from "submittedOnDailyAt"
    """

    name = "hf_daily_json"
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
        listed = _list_days([item for _, _, item in items if isinstance(item, dict)])
        rows, problems = [], []
        base = {"source_path": dump.rel_path, "source_sha256": dump.sha256}
        for position, (start, end, item) in enumerate(items, start=1):
            row = self._record(item, dump, year, listed) if isinstance(item, dict) else "item is not a JSON object"
            if isinstance(row, str):
                problems.append(
                    {**base, "location": f"item {position}", "reason": row, "raw_text": text[start:end]}
                )
                continue
            rows.append(
                {**base, "source_format": self.name, "position": position, "line": line_at(start), **row}
            )
        if tail is not None:
            offset, reason = tail
            rest = text[offset:]
            problems.append(
                {**base, "location": f"line {line_at(offset)}", "reason": reason, "raw_text": rest or None}
            )
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)

    @staticmethod
    def _record(item: dict, dump: Dump, year: int | None, listed: _ListDays) -> dict | str:
        """One API item -> RAW_RECORDS fields (without provenance), or the reason it cannot be used."""
        paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
        flags: list[str] = []

        def field(key: str) -> object:
            value = paper.get(key)
            return value if value not in (None, "") else item.get(key)

        arxiv_id, version = None, None
        raw_id = paper.get("id")
        if isinstance(raw_id, _NumberText):
            flags.append("id_was_number")
            if (m := NUMERIC_ID.fullmatch(raw_id)) is not None:
                # Since 2015 (1501) ids have five digits after the dot, before four: restore dropped zeros.
                width = 5 if int(m["yymm"]) >= 1501 else 4
                if len(m["digits"]) < width:
                    raw_id = f"{m['yymm']}.{m['digits'].ljust(width, '0')}"
                    flags.append("arxiv_id_zero_padded")
        if isinstance(raw_id, str) and raw_id.strip():
            if (parts := arxiv_id_parts(raw_id, exact=True)) is not None:
                arxiv_id, version = parts
            else:
                flags.append("arxiv_id_unrecognised")
        else:
            flags.append(
                "arxiv_id_missing" if raw_id is None or isinstance(raw_id, str) else "arxiv_id_unrecognised"
            )

        title = _string(field("title"))
        if arxiv_id is None and title is None:
            return "item has neither a paper id nor a title"
        if title is None:
            flags.append("title_missing")
        abstract = _string(field("summary"))
        if abstract is None:
            flags.append("abstract_missing")
        if paper.get("withdrawnAt") or item.get("withdrawnAt"):
            flags.append("withdrawn")

        published = _instant(field("publishedAt"))
        digest_date, date_source = listed.day_of(item)
        if digest_date is None:
            digest_date, date_source = resolved_digest_date(None, None, None, dump, year)
            if date_source == "file_mtime" and listed.usual is not None:
                # The file names no day but its other items do: that is the list's day, not the file time.
                digest_date, date_source = listed.usual

        links = [
            {"url": url.strip(), "kind": kind}
            for key, kind in (("githubRepo", "code"), ("projectPage", "project"))
            if (url := _string(field(key))) is not None
        ]
        return {
            "digest_date": digest_date,
            "digest_date_source": date_source,
            "arxiv_id": arxiv_id,
            "arxiv_version": version,
            "title_raw": title if title is not None else "",
            "abstract_raw": abstract,
            "authors": _authors(paper.get("authors") or item.get("authors")),
            "published_at": published,
            "source_links": links,
            "record_flags": flags,
        }


@dataclass(frozen=True)
class _ListDays:
    """Where the day of the daily list is written in this file's API shape, and its most common value."""

    field: str | None  # "submittedOnDailyAt" (paper, 2025 shape) or "publishedAt" (item, 2024 shape)
    usual: tuple[dt.date, str] | None

    def day_of(self, item: dict) -> tuple[dt.date | None, str | None]:
        when = _listing_instant(item, self.field) if self.field else None
        return (when.date(), self.field) if when is not None else (None, None)


def _listing_instant(item: dict, field: str) -> dt.datetime | None:
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
    if field == "submittedOnDailyAt":
        return _instant(paper.get(field)) or _instant(item.get(field))
    # 2024 shape: the item's own publishedAt is when it was put on the daily list (the paper's is arXiv's date);
    # an item without a "paper" object is a paper, and its publishedAt is arXiv's.
    return _instant(item.get(field)) if paper else None


def api_records(items: list[dict], dump: Dump, year: int | None) -> list[dict | str]:
    """Daily-papers API items (as in a JSON response or a page's embedded data) -> record fields or reasons.

    >>> # [{"paper": {"id": "2410.18533", "title": "LOGO ..."}, "publishedAt": "2024-10-25T01:32:39Z"}]
    >>> # -> [{"arxiv_id": "2410.18533", "digest_date": 2024-10-25, "digest_date_source": "publishedAt", ...}]
    """
    listed = _list_days(items)
    return [HfDailyJson._record(item, dump, year, listed) for item in items]


def _list_days(items: list[dict]) -> _ListDays:
    """The day field of the file's API shape: submittedOnDailyAt where any item has it, else (2024 responses,
    which lack it) the items' own publishedAt. Decided per file, because in the newer shape the item's
    publishedAt repeats the paper's arXiv date.

    >>> # [{"paper": {"id": "2410.17243", "publishedAt": "2024-10-22..."}, "publishedAt": "2024-10-25T00:57:09Z"}]
    >>> # -> field "publishedAt", days 2024-10-25
    """
    for field in ("submittedOnDailyAt", "publishedAt"):
        days = [when.date() for item in items if (when := _listing_instant(item, field)) is not None]
        if days:
            return _ListDays(field, (Counter(days).most_common(1)[0][0], f"{field}+list"))
    return _ListDays(None, None)


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


def _string(value: object) -> str | None:
    """A non-blank string as given (numbers keep their text), else None."""
    return str(value) if isinstance(value, str) and value.strip() else None


def _instant(value: object) -> dt.datetime | None:
    return instant(value) if isinstance(value, str) else None


def _authors(authors: object) -> list[str]:
    # Hidden authors are kept: "hidden" hides the claimed HF profile, the name is still on the paper.
    if not isinstance(authors, list):
        return []
    names = [a.get("name") if isinstance(a, dict) else a for a in authors]
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]
