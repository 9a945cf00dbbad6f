"""The Hugging Face daily-papers API item (FORMATS §2): one item -> RAW_RECORDS fields, or why it cannot be used.

Shared by the JSON reader (flows/readers/hf_json.py, a saved API response) and the HTML reader (flows/readers/
hf_html.py, the same items embedded in a page's data-props). Not a reader: no provenance, no file, no sniffing.
Ids stay the text the API sent, never a float; the digest date is the day of the daily list, read where each API
shape writes it (submittedOnDailyAt, or in 2024 responses the item's own publishedAt).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from flows.readers.base import Dump
from flows.readers.vocabulary import Digest, arxiv_id_parts, instant, resolved_digest_date

# Ids sent as JSON numbers: a writer that went through a float drops trailing zeros (2503.02130 -> 2503.0213).
NUMERIC_ID = re.compile(r"(?P<yymm>\d{4})\.(?P<digits>\d{1,5})")


class NumberText(str):
    """A JSON number kept as its source text, so that an id sent as a number keeps its digits."""


def api_record(item: dict) -> dict | str:
    """One API item -> RAW_RECORDS fields (without provenance and digest day), or the reason it cannot be used.

    >>> api_record({"paper": {"id": "2503.02130", "title": "T"}})["arxiv_id"]
    '2503.02130'
    """
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
    flags: list[str] = []

    def field(key: str) -> object:
        value = paper.get(key)
        return value if value not in (None, "") else item.get(key)

    arxiv_id, version = None, None
    raw_id = paper.get("id")
    if isinstance(raw_id, NumberText):
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

    links = [
        {"url": url.strip(), "kind": kind}
        for key, kind in (("githubRepo", "code"), ("projectPage", "project"))
        if (url := _string(field(key))) is not None
    ]
    return {
        "arxiv_id": arxiv_id,
        "arxiv_version": version,
        "title_raw": title if title is not None else "",
        "abstract_raw": abstract,
        "authors": _authors(paper.get("authors") or item.get("authors")),
        "published_at": instant(field("publishedAt")),
        "source_links": links,
        "record_flags": flags,
    }


@dataclass(frozen=True)
class ListDays:
    """Where the day of the daily list is written in this file's API shape, and its most common value."""

    field: str | None  # "submittedOnDailyAt" (paper, 2025 shape) or "publishedAt" (item, 2024 shape)
    usual: tuple[dt.date, str] | None

    def day_of(self, item: dict) -> Digest:
        when = _listing_instant(item, self.field) if self.field else None
        return (when.date(), self.field) if when is not None else (None, None)

    def digest(self, item: dict, dump: Dump, year: int | None) -> Digest:
        """The item's digest day: the list's day where the item gives it, else the file name's, else the day most
        of the file's items give, else the file time."""
        day, source = self.day_of(item)
        if day is not None:
            return day, source
        day, source = resolved_digest_date(None, None, None, dump, year)
        if source == "file_mtime" and self.usual is not None:
            # The file names no day but its other items do: that is the list's day, not the file time.
            return self.usual
        return day, source


def _listing_instant(item: dict, field: str) -> dt.datetime | None:
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
    if field == "submittedOnDailyAt":
        return instant(paper.get(field)) or instant(item.get(field))
    # 2024 shape: the item's own publishedAt is when it was put on the daily list (the paper's is arXiv's date);
    # an item without a "paper" object is a paper, and its publishedAt is arXiv's.
    return instant(item.get(field)) if paper else None


def list_days(items: list[dict]) -> ListDays:
    """The day field of the file's API shape: submittedOnDailyAt where any item has it, else (2024 responses,
    which lack it) the items' own publishedAt. Decided per file, because in the newer shape the item's
    publishedAt repeats the paper's arXiv date.

    >>> # [{"paper": {"id": "2410.17243", "publishedAt": "2024-10-22..."}, "publishedAt": "2024-10-25T00:57:09Z"}]
    >>> # -> field "publishedAt", days 2024-10-25
    """
    for field in ("submittedOnDailyAt", "publishedAt"):
        days = [when.date() for item in items if (when := _listing_instant(item, field)) is not None]
        if days:
            return ListDays(field, (Counter(days).most_common(1)[0][0], f"{field}+list"))
    return ListDays(None, None)


def _string(value: object) -> str | None:
    """A non-blank string as given (numbers keep their text), else None."""
    return str(value) if isinstance(value, str) and value.strip() else None


def _authors(authors: object) -> list[str]:
    # Hidden authors are kept: "hidden" hides the claimed HF profile, the name is still on the paper.
    if not isinstance(authors, list):
        return []
    names = [a.get("name") if isinstance(a, dict) else a for a in authors]
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]
