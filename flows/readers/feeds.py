"""Reader for arXiv RSS 2.0 / Atom feeds (FORMATS §4), old and new style, plus RSS 1.0 (RDF) as a bonus.

One record per <item>/<entry>: arXiv id and version from guid/id/link, section from announce_type, abstract
from the description. A malformed feed is read item by item, so one broken item never loses the others. XML is
parsed with expat directly, refusing DTD entity declarations (no entity expansion, no external entities).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from xml.parsers import expat

from flows.readers.base import Dump, Parsed, quarantine_frame, records_frame
from flows.readers.vocabulary import (
    arxiv_id_parts,
    digest_date,
    instant,
    provenance,
    quarantine_row,
    shown_authors,
    split_authors,
)

SECTIONS = {"new": "new", "cross": "cross-list", "replace": "replaced", "replace-cross": "replaced"}
# Old feeds held only new, cross-listed and updated papers and marked the last two in titles: no mark = new.
OLD_MARKS = {None: "new", "UPDATED": "replaced", "CROSS LISTED": "cross-list"}
# Old feeds: "Title. (arXiv:2304.01974v1 [cs.CL])", with UPDATED / CROSS LISTED before the ")" when not new.
OLD_TITLE = re.compile(
    r"^(?P<title>.*?)\.?\s*\(arXiv:(?P<id>[^\s\[\]()]+)\s*\[(?P<cats>[^\]]*)\]"
    r"\s*(?P<mark>UPDATED|CROSS LISTED)?\s*\)\s*$",
    re.DOTALL,
)
# New descriptions: "arXiv:2601.00001v1 Announce Type: new \nAbstract: ...".
ANNOUNCED = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.DOTALL)
HTML_MARKUP = re.compile(r"</?(?:p|a|br|i|b|em|strong|span|div|sub|sup)\b[^>]*>", re.IGNORECASE)
FEED_DATE_TAGS = ("pubDate", "lastBuildDate", "updated", "date")  # channel/feed level, in order of preference
ITEM_DATE_TAGS = ("pubDate", "published", "date", "updated")
ITEM_START = re.compile(r"<(?P<tag>(?:[\w.-]+:)?(?:item|entry))(?=[\s>/])[^>]*>")
ITEM_TAG = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)(?=[\s>/])")  # the census: start tags only, nothing after
ROOT_START = re.compile(r"<(?P<tag>[A-Za-z_][\w:.-]*)(?P<attrs>[^>]*)>")
NS_DECL = re.compile(r"""xmlns(?::[\w.-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")
ATOM_NS = "http://www.w3.org/2005/Atom"
RSS1_NS = "http://purl.org/rss/1.0/"


def html_text(fragment: str) -> str:
    """Text of an HTML fragment, tags dropped and entities unescaped; paragraphs become line breaks.

    >>> html_text("<p>A &amp; B</p>")
    'A & B'
    """
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts).strip()


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("p", "br", "div", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class ArxivFeed:
    """arXiv RSS 2.0 / Atom / RSS 1.0 feed: one record per item, section from announce_type.

    >>> # <item><title>T</title><guid>oai:arXiv.org:2601.00001v1</guid><arxiv:announce_type>new</...></item>
    >>> # -> arxiv_id "2601.00001", arxiv_version 1, section "new", digest_date from the channel pubDate
    """

    name = "arxiv_feed"
    rank = 0  # arXiv's own metadata
    announces = "<item>/<entry> elements"

    def census(self, text: str) -> int:
        """Start tags of items and entries, counted in the raw text (no XML parsing)."""
        return sum(1 for _ in ITEM_TAG.finditer(text))

    def sniff(self, text: str) -> bool:
        head = text[:8192]
        root = _root_start(head)
        if root is None:
            return False
        local = root["tag"].rsplit(":", 1)[-1]
        if local == "rss":
            return True
        if local == "feed":
            return ATOM_NS in root["attrs"]
        return local == "RDF" and RSS1_NS in head

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        ctx = _Context(dump, year, self.name)
        try:
            root, lines = safe_xml(text)
        except _RefusedEntity as exc:
            row = ctx.problem(1, f"XML refused: {exc}", text)
            return Parsed(records_frame([]), quarantine_frame([row]), self.name)
        except expat.ExpatError as exc:
            return self._read_items_one_by_one(ctx, text, exc)
        feed_date = _first_instant(_feed_header(root), FEED_DATE_TAGS)
        items = [e for e in root.iter() if _local(e.tag) in ("item", "entry")]
        rows, problems = [], []
        for position, item in enumerate(items, start=1):
            record, problem = ctx.record(item, position, lines.get(item, 1), feed_date)
            rows += [record] if record else []
            problems += [problem] if problem else []
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)

    def _read_items_one_by_one(self, ctx: _Context, text: str, error: expat.ExpatError) -> Parsed:
        """Fallback for malformed XML: parse each <item>/<entry> block alone, inside the root's namespaces."""
        where = f"{expat.ErrorString(error.code)} (line {error.lineno}, column {error.offset + 1})"
        starts = list(ITEM_START.finditer(text))
        if not starts:
            row = ctx.problem(error.lineno, f"malformed XML: {where}", text)
            return Parsed(records_frame([]), quarantine_frame([row]), self.name)
        root = _root_start(text)
        prefix = f"<recovered {' '.join(NS_DECL.findall(root['attrs'] if root else ''))}>"
        feed_date = _header_instant(text[: starts[0].start()])
        rows, problems, explained = [], [], False
        for position, start in enumerate(starts, start=1):
            line = text.count("\n", 0, start.start()) + 1
            end_tag = re.compile(rf"</{re.escape(start['tag'])}\s*>").search(text, start.end())
            if start.group().endswith("/>"):
                end = start.end()
            elif end_tag is None or (position < len(starts) and end_tag.start() > starts[position].start()):
                # No end before the next item starts (or before the end of the file): the file was cut here.
                next_start = starts[position].start() if position < len(starts) else len(text)
                truncated = next_start == len(text)
                problems.append(
                    ctx.problem(
                        line,
                        "truncated XML" if truncated else "item never closed",
                        text[start.start() : next_start],
                    )
                )
                explained |= error.lineno >= line
                continue
            else:
                end = end_tag.end()
            block = text[start.start() : end]
            try:
                wrapper, _ = safe_xml(prefix + block + "</recovered>")
            except (expat.ExpatError, _RefusedEntity) as exc:
                detail = str(exc)
                if isinstance(exc, expat.ExpatError):
                    err_line = line + exc.lineno - 1
                    col = exc.offset + 1 - (len(prefix) if exc.lineno == 1 else 0)
                    if exc.lineno == 1:
                        col += start.start() - (text.rfind("\n", 0, start.start()) + 1)
                    detail = f"{expat.ErrorString(exc.code)} (line {err_line}, column {col})"
                problems.append(ctx.problem(line, f"malformed XML in item: {detail}", block))
                explained |= line <= error.lineno <= line + block.count("\n")
                continue
            record, problem = ctx.record(wrapper[0], position, line, feed_date, flags=["xml_recovered"])
            rows += [record] if record else []
            problems += [problem] if problem else []
        if not explained:
            # The parser's complaint lies outside every item (a broken header, or a cut between items).
            reason = "truncated XML" if error.lineno >= text.count("\n") + 1 else f"malformed XML: {where}"
            problems.append(ctx.problem(error.lineno, reason, text.split("\n")[error.lineno - 1]))
        problems.sort(key=lambda p: int(p["location"].split()[1]))
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)


class _Context:
    """What every record and quarantine row of one dump shares."""

    def __init__(self, dump: Dump, year: int | None, name: str) -> None:
        self.dump, self.year, self.name = dump, year, name

    def problem(self, line: int, reason: str, raw_text: str | None) -> dict:
        return quarantine_row(self.dump, f"line {line}", reason, raw_text)

    def record(
        self,
        item: ET.Element,
        position: int,
        line: int,
        feed_date: dt.datetime | None,
        flags: list[str] | None = None,
    ) -> tuple[dict | None, dict | None]:
        """One item -> (RAW_RECORDS row, None), or (None, quarantine row) when it has neither id nor title."""
        flags = list(flags or [])
        title = _text(item, "title")
        description = _text(item, "description") or _text(item, "summary") or _text(item, "content")
        old = OLD_TITLE.match(title) if title else None
        announced = ANNOUNCED.match(description) if description else None

        candidates = [
            _text(item, "guid"),
            _text(item, "id"),
            announced and announced.group().split()[0],
            old and old["id"],
            *_links(item),
            _about(item),
        ]
        ids = [parts for c in candidates if (parts := arxiv_id_parts(c))]
        arxiv_id = ids[0][0] if ids else None
        version = next((v for i, v in ids if i == arxiv_id and v is not None), None)
        if len({i for i, _ in ids}) > 1:
            flags.append("arxiv_id_conflict")

        title_raw = (old["title"] if old else title or "").strip()
        if arxiv_id is None and not title_raw:
            raw = ET.tostring(item, encoding="unicode").strip()
            return None, self.problem(line, "item has neither an arXiv id nor a title", raw)
        if not title_raw:
            flags.append("title_missing")
        if arxiv_id is None:
            flags.append("arxiv_id_missing")

        kind = _text(item, "announce_type") or (announced and announced["type"])
        section = None
        if kind:
            section = SECTIONS.get(kind.strip().lower())
            if section is None:
                flags.append("announce_type_unrecognised")
        elif old:
            section = OLD_MARKS[old["mark"]]

        abstract = _abstract(description, announced)
        if abstract is None:
            flags.append("abstract_missing")

        published = _first_instant(item, ITEM_DATE_TAGS)
        digest = digest_date(self.dump, self.year, (_day(feed_date), "feed_date"), (_day(published), "item_date"))

        authors, not_shown = _authors(item)
        flags += not_shown
        categories = [e.get("term") for e in _kids(item, "primary_category")]
        categories += [e.get("term") or "".join(e.itertext()).strip() for e in _kids(item, "category")]
        categories += old["cats"].replace(",", " ").split() if old else []
        return {
            **provenance(self.dump, self.name, digest),
            "position": position,
            "line": line,
            "section": section,
            "arxiv_id": arxiv_id,
            "arxiv_version": version,
            "title_raw": title_raw,
            "abstract_raw": abstract,
            "authors": authors,
            "categories": list(dict.fromkeys(c for c in categories if c)),
            "published_at": published,
            "comments": _text(item, "comment") or None,
            "journal_ref": _text(item, "journal_ref") or None,
            "doi": _text(item, "doi") or None,
            "record_flags": flags,
        }, None


# ---------------------------------------------------------------------------------------------- XML helpers


class _RefusedEntity(ValueError):
    """The document declares entities: refused, as defusedxml would (expansion bombs, external entities)."""


def safe_xml(text: str) -> tuple[ET.Element, dict[ET.Element, int]]:
    """XML text -> (root element, start line of every element); raises ExpatError or _RefusedEntity.

    >>> root, lines = safe_xml("<rss>\\n<item/></rss>"); lines[root[0]]
    2
    """
    # Plain expat, not ET.fromstring: it gives element line numbers and lets entity declarations be refused.
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    lines: dict[ET.Element, int] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        elem = builder.start(_qname(name), {_qname(k): v for k, v in attrs.items()})
        lines[elem] = parser.CurrentLineNumber

    def refuse(name: str, *_: object) -> None:
        raise _RefusedEntity(f"the document declares the entity {name!r}")

    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_qname(name))
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.Parse(text, True)
    return builder.close(), lines


def _qname(name: str) -> str:
    return "{" + name if "}" in name else name


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(elem: ET.Element, local: str) -> list[ET.Element]:
    return [child for child in elem if _local(child.tag) == local]


def _text(elem: ET.Element, local: str) -> str | None:
    """Text of the first child with this local name (any namespace), or None."""
    for child in _kids(elem, local):
        return "".join(child.itertext())
    return None


def _links(item: ET.Element) -> list[str]:
    return [(link.get("href") or "".join(link.itertext())).strip() for link in _kids(item, "link")]


def _about(item: ET.Element) -> str | None:
    return next((v for k, v in item.attrib.items() if _local(k) == "about"), None)


def _feed_header(root: ET.Element) -> ET.Element:
    """The element holding feed-level fields: <channel> for RSS, the root for Atom."""
    return next(iter(_kids(root, "channel")), root)


def _root_start(text: str) -> re.Match | None:
    """The root element's start tag, skipping the XML declaration, comments and a DOCTYPE."""
    body = re.sub(
        r"^\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)*", "", text, flags=re.DOTALL
    )
    return ROOT_START.match(body)


def _day(when: dt.datetime | None) -> dt.date | None:
    return when.date() if when is not None else None


def _first_instant(elem: ET.Element, tags: tuple[str, ...]) -> dt.datetime | None:
    for tag in tags:
        if (found := instant(_text(elem, tag))) is not None:
            return found
    return None


def _header_instant(header: str) -> dt.datetime | None:
    """Feed date from the raw text before the first item (used when the XML cannot be parsed whole)."""
    for tag in FEED_DATE_TAGS:
        m = re.search(rf"<(?:[\w.-]+:)?{tag}\b[^>]*>([^<]*)</", header)
        if m and (found := instant(m[1])) is not None:
            return found
    return None


def _abstract(description: str | None, announced: re.Match | None) -> str | None:
    if description is None:
        return None
    if announced is not None:
        text = description[announced.end() :]
    elif HTML_MARKUP.search(description):
        text = html_text(description)
    else:
        text = description
    return text.strip() or None


def _authors(item: ET.Element) -> tuple[list[str], list[str]]:
    """Author names, and the flags of a list arXiv shortened ("..., et al. (909 additional authors not shown)")."""
    names = ["".join(n.itertext()).strip() for a in _kids(item, "author") for n in _kids(a, "name")]
    flags: list[str] = []
    for creator in _kids(item, "creator"):
        text = "".join(creator.itertext())
        # Old feeds link every author: <a href="...">Jane Doe</a>, <a ...>...</a>
        text = html_text(text) if "<" in text or "&" in text else text
        text, shortened = shown_authors(text)
        flags = shortened or flags
        names += split_authors(text)
    return [n for n in (name.strip() for name in names) if n], flags
