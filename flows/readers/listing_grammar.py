"""The arXiv daily listing's text grammar (FORMATS §3): entries, sections, header fields, the digest date.

One entry dict per `\\`-delimited entry, with its section, id, version and header fields unwrapped onto one line;
TeX in titles and abstracts is kept exactly as written. A broken entry becomes a Problem where it stands and never
shifts the entries around it. Not a reader: flows/readers/arxiv_listing.py reads listings with it, as text or
inside mail; nothing here reads files or knows where a listing came from.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flows.readers.vocabulary import (
    ARXIV_ID_TEXT,
    MONTHS,
    instant,
    shown_authors,
    split_authors,
    without_affiliations,
)

# Sniffing looks at the head only: a listing shows its header and first entry within a few KB.
SNIFF_CHARS = 200_000

# The id line holds nothing but the id, its version and the cross-listing mark: an abstract line citing
# "arXiv:2409.01234, we find ..." is not one.
ID_LINE = re.compile(
    rf"^arXiv:\s*(?P<id>{ARXIV_ID_TEXT})(?:v(?P<version>\d+))?\s*(?P<cross>\(\*cross-listing\*\))?$"
)
ENTRY_OPENING = re.compile(rf"^\\\\[ \t]*\n[ \t]*arXiv:[ \t]*{ARXIV_ID_TEXT}", re.MULTILINE)
# The census (apart from the parser): a `\\` line followed by a line holding only an id. An abstract opens with
# `\\` too, but its first line never holds an id alone.
# The pattern opens with a literal (the newline ending the line before), which the regex engine can search for
# fast; a leading ^ would be tried at every character.
ANNOUNCED_ENTRY = re.compile(
    rf"\n\\\\[ \t]*\n[ \t]*arXiv:[ \t]*{ARXIV_ID_TEXT}(?:v\d+)?[ \t]*(?:\(\*cross-listing\*\))?[ \t]*$", re.MULTILINE
)
CLOSING_LINE = re.compile(r"^\\\\\s*\(\s*(?P<url>https?://\S+?)\s*,\s*(?P<kb>\d+)kb\s*\)$")
RULE_LINE = re.compile(r"^-{20,}$")
RECEIVED_LINE = re.compile(r"^\s*received from\s+(?P<start>.+?)\s+to\s+(?P<end>.+?)\s*$", re.IGNORECASE)
LISTING_DAY = re.compile(r"(?P<day>\d{1,2})\s+(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<year>\d{4}|\d{2})\b")
FIELD_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z-]*):[ \t]*(?P<value>.*)$")
REPLACED_LINE = re.compile(r"^replaced with revised version\b\s*(?P<rest>.*)$", re.IGNORECASE)
SIZE = re.compile(r"\(\s*(?P<kb>\d+)kb(?:\s*,\s*(?P<flags>[A-Za-z]+))?\s*\)\s*$")
# Separator lines, most specific first: "%%%---" also starts with "%%", "%%--" does not start with "%-".
SEPARATORS = (("%%%---", "end"), ("%%--%%--", "replaced"), ("%-%-%-", "cross-list"))
# A line-final hyphen after a letter is kept and the break dropped ("multi-\nmodal" -> "multi-modal"): listings are
# author-wrapped, so the hyphen is real. A suspended hyphen ("first-\nand second-order") keeps its space.
WORD_HYPHEN_END = re.compile(r"\w-$")
SUSPENDED_HYPHEN_NEXT = re.compile(r"^(?:and|or|nor|to|&)(?:\s|$)")  # "to-sequence" is not one


@dataclass
class _Block:
    """The lines of one entry, from its opening `\\` line to its closing `\\ ( https://arxiv.org/abs/… )` line."""

    start: int
    section: str
    lines: list[tuple[int, str]]
    closed: bool = False
    stray: bool = False  # text between entries (an entry that lost its opening line): keeps its place, quarantined


@dataclass(frozen=True)
class Problem:
    """A piece of the listing that could not be read, and why."""

    line: int
    reason: str
    raw_text: str


@dataclass(frozen=True)
class Listing:
    """What a listing's text holds: entries (RAW_RECORDS keys, no provenance), problems and the digest date."""

    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digest_date: dt.date | None = None
    n_blocks: int = 0


# ---------------------------------------------------------------------------------------------- listing text


def holds_listing(text: str) -> bool:
    """True when the text shows an arXiv listing: an entry opening, or the listing's `received from … to …` header.

    >>> holds_listing("------\\n\\\\\\\\\\narXiv:2601.00001\\nDate: ...")
    True
    """
    head = text[:SNIFF_CHARS]
    if ENTRY_OPENING.search(head):
        return True
    return "Submissions to:" in head and any(RECEIVED_LINE.match(ln) for ln in head.split("\n", 200)[:200])


def listing_census(text: str) -> int:
    """Entries a listing announces: opening lines followed by an id line, counted in the raw text.

    In a mail container quoted-printable bodies are mostly legible and base64 ones are not: those count less,
    never more (the census is a lower bound).
    """
    return sum(1 for _ in ANNOUNCED_ENTRY.finditer("\n" + text))


def parsed_listing(text: str) -> Listing:
    """A listing's text -> its entries in order, its unreadable blocks and its digest date.

    >>> # "... received from Mon 5 Jan 26 19:00:00 GMT to Tue 6 Jan 26 19:00:00 GMT\\n---\\n\\\\\\\\\\narXiv:2601.00001 ..."
    >>> # -> Listing(entries=[{"arxiv_id": "2601.00001", "section": "new", ...}], digest_date=2026-01-06)

    A single pass, not Polars expressions: the format is a line grammar with state (section, open entry, field
    continuations), and a listing holds hundreds of entries, not millions.
    """
    lines = text.split("\n")
    blocks: list[_Block] = []
    section, current, digest_date = "new", None, None
    # An entry opens with a `\\` line right after a rule, a separator or an entry's closing line (or at the top of a
    # header-less file). The `\\` that opens an abstract follows a header field instead, so an abstract line that
    # starts with "arXiv:" never opens an entry.
    may_open, ended, run = True, False, None
    for n, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if current is not None:
            if CLOSING_LINE.match(stripped):
                current.lines.append((n, raw))
                current.closed, may_open = True, True
                blocks.append(current)
                current = None
                continue
            if not (RULE_LINE.match(stripped) or _separator(stripped)):
                current.lines.append((n, raw))
                continue
            blocks.append(current)  # a rule before the closing line: the entry is unterminated
            current = None
        next_line = lines[n].strip() if n < len(lines) else ""
        if stripped == "\\\\" and (may_open or ID_LINE.match(next_line)):
            current, run = _Block(start=n, section=section, lines=[(n, raw)]), None
            continue
        if not stripped:
            continue
        kind = _separator(stripped)
        if kind or RULE_LINE.match(stripped):
            may_open, run = True, None
            if kind == "end":
                ended = True
                break
            section = kind or section
            continue
        if not blocks:  # the listing header (stray text can only follow an entry)
            may_open = False
            if m := RECEIVED_LINE.match(raw):
                digest_date = _listing_date(m["end"])
            continue
        # Text between entries can only be an entry that lost its opening `\\`: it keeps its place in the order
        # (so later positions do not shift) and goes to quarantine whole.
        may_open = bool(CLOSING_LINE.match(stripped))
        if run is None:
            run = _Block(start=n, section=section, lines=[], stray=True)
            blocks.append(run)
        run.lines.append((n, raw))
    if current is not None:
        blocks.append(current)

    entries, problems = [], []
    for position, block in enumerate(blocks, start=1):
        truncated = position == len(blocks) and not block.closed and not ended
        entry = _entry(block, position, truncated)
        (problems if isinstance(entry, Problem) else entries).append(entry)
    if not blocks and not ended:
        problems.append(Problem(1, "no arXiv listing entries in the text", text))
    return Listing(entries, sorted(problems, key=lambda p: p.line), digest_date, len(blocks))


def _separator(stripped: str) -> str | None:
    """The section a separator line starts ("end" for the closing one), or None for any other line."""
    if not stripped or set(stripped) - {"%", "-"}:
        return None
    return next((kind for prefix, kind in SEPARATORS if stripped.startswith(prefix)), None)


def _entry(block: _Block, position: int, truncated: bool) -> dict | Problem:
    """One block's lines -> a record dict, or the Problem that keeps it out."""
    raw_text = "\n".join(raw for _, raw in block.lines)
    if block.stray:
        return Problem(block.start, "text outside any entry (no opening \\\\ line)", raw_text)
    body = block.lines[1 : -1 if block.closed else None]
    filled = [(n, raw) for n, raw in body if raw.strip()]
    if not filled:
        return Problem(block.start, "listing cut off right after an entry's opening line" if truncated
                       else "empty entry", raw_text)
    id_line, id_text = filled[0]
    m = ID_LINE.match(id_text.strip())
    if m is None:
        return Problem(block.start, "entry has no arXiv id line", raw_text)

    after_id = body[body.index(filled[0]) + 1 :]
    opener = next((i for i, (_, raw) in enumerate(after_id) if raw.strip() == "\\\\"), None)
    header = after_id if opener is None else after_id[:opener]
    abstract = None if opener is None else unwrapped_abstract([raw for _, raw in after_id[opener + 1 :]])
    fields, replaced = _header_fields([raw for _, raw in header])
    if not fields.get("title"):
        reason = "listing cut off inside an entry, before its title" if truncated else "entry has no Title field"
        return Problem(block.start, reason, raw_text)

    names, not_shown = truncated_authors(fields.get("authors", ""))
    stamp = replaced if replaced is not None else fields.get("date")
    when, size_flags = _stamp(stamp)
    closing = CLOSING_LINE.match(block.lines[-1][1].strip()) if block.closed else None
    flags = [
        "cross_list" if m["cross"] or block.section == "cross-list" else None,
        "replaced" if replaced is not None or block.section == "replaced" else None,
        "withdrawn" if "I" in size_flags else None,
        "truncated" if truncated else None,
        "unterminated" if not block.closed and not truncated else None,
        "date_unparsed" if stamp and when is None else None,
        *not_shown,
    ]
    return {
        "position": position,
        "line": id_line,
        "section": block.section,
        # As written: an old id keeps its subject class here (math.GT/0309136), as tests/fixtures/arxiv_listing/
        # make.py's listings pin; the feed and HF readers drop it (vocabulary.canonical_arxiv_id).
        "arxiv_id": m["id"],
        "arxiv_version": int(m["version"]) if m["version"] else None,
        "title_raw": fields["title"],
        "abstract_raw": abstract,
        "authors": names,
        "categories": fields.get("categories", "").split(),
        # A replacement's date is when the new version came out, not when the paper was published.
        "published_at": when if replaced is None else None,
        "comments": fields.get("comments"),
        "journal_ref": fields.get("journal-ref"),
        "doi": fields.get("doi"),
        "source_links": [{"url": closing["url"], "kind": "paper"}] if closing else [],
        "record_flags": [f for f in flags if f],
    }


def _header_fields(lines: list[str]) -> tuple[dict[str, str], str | None]:
    """Header lines -> {lower-case field name: value unwrapped onto one line}, and the `replaced with …` remainder."""
    parts: dict[str, list[str]] = {}
    replaced, key = None, None
    for raw in lines:
        if not raw.strip():
            continue
        if m := REPLACED_LINE.match(raw.strip()):
            replaced, key = m["rest"], None
        elif not raw[0].isspace() and (m := FIELD_LINE.match(raw)):
            key = m["key"].lower()
            parts.setdefault(key, []).append(m["value"])
        elif key is not None:  # indented continuation of a wrapped field
            parts[key].append(raw)
    return {k: " ".join(" ".join(v).split()) for k, v in parts.items()}, replaced


def _stamp(value: str | None) -> tuple[dt.datetime | None, str]:
    """`Mon, 5 Jan 2026 10:12:44 GMT   (1204kb,D)` -> (UTC datetime, size flags such as "D" or "I")."""
    if not value:
        return None, ""
    size = SIZE.search(value)
    when_text = value[: size.start()] if size else value
    flags = (size["flags"] or "").upper() if size else ""
    # "-0000" gives a naive datetime, which instant takes as UTC: RFC 2822 says the time is UTC, zone unknown.
    return instant(when_text), flags


def _listing_date(stamp: str) -> dt.date | None:
    """`Tue  6 Jan 26 19:00:00 GMT` -> 2026-01-06 (two-digit years: 91-99 are 1990s, arXiv's first listings)."""
    m = LISTING_DAY.search(stamp)
    month = MONTHS.get(m["mon"].lower()) if m else None
    if m is None or month is None:
        return None
    year = int(m["year"])
    if year < 100:
        year += 1900 if year >= 91 else 2000
    try:
        return dt.date(year, month, int(m["day"]))
    except ValueError:
        return None


def truncated_authors(value: str) -> tuple[list[str], list[str]]:
    """An Authors field -> names without the closing "et al.", and the flags saying how many were not shown.

    >>> truncated_authors("A. Person, B. Other, et al. (57 additional authors not shown)")
    (['A. Person', 'B. Other'], ['authors_truncated', 'authors_not_shown:57'])
    """
    shown, flags = shown_authors(value)
    return author_names(shown), flags


def author_names(value: str) -> list[str]:
    """An Authors field (already unwrapped) -> names, affiliations in parentheses removed.

    >>> author_names("A. Person (MIT), B. Other and C. Third (ETH Zurich)")
    ['A. Person', 'B. Other', 'C. Third']
    """
    return split_authors(without_affiliations(value))


def unwrapped_abstract(lines: list[str]) -> str | None:
    """Hard-wrapped abstract lines -> one paragraph (lines joined by single spaces; see WORD_HYPHEN_END).

    >>> unwrapped_abstract(["  state-of-the-art multi-", "modal models, first-", "and second-order"])
    'state-of-the-art multi-modal models, first- and second-order'
    """
    text = ""
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        glue = "" if not text or (WORD_HYPHEN_END.search(text) and not SUSPENDED_HYPHEN_NEXT.match(line)) else " "
        text = f"{text}{glue}{line}"
    return " ".join(text.split()) or None


