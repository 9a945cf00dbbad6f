"""Reader for a Hugging Face papers page saved as HTML: the daily list page or a single paper's page.

Real pages carry their data as JSON in a `data-props` attribute (`data-target="DailyPapers"` on the list page,
`"PaperContent"`/`"PaperPage"` on a paper's page): where present it is read as the daily-papers API is, and only
its paper objects (`dailyPapers`, `paper`) become records; comments, upvoters, collections and similar papers never
do. Without it, a paper's page (its canonical URL is /papers/<id>) gives one record from its <h1> and abstract, and
a list page one record per card: <article> elements, or headings that link to /papers/<id>. Navigation, scripts
and styles are ignored; a <script>/<style> that is never closed does not hide the rest of the page (its records
carry `html_recovered`). Time is linear in the page, whatever its nesting or unterminated markup.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import re
from dataclasses import dataclass

import polars as pl

from flows.readers.base import Dump, Parsed, quarantine_frame, records_frame
from flows.readers.hf_api import api_record, list_days
from flows.readers.html_tree import HEADINGS, Node, Tree, inside, outermost, parsed_html, spans
from flows.readers.vocabulary import (
    NEW_STYLE_ID,
    Digest,
    arxiv_id_parts,
    digest_date,
    instant,
    month_day,
    provenance,
    quarantine_row,
    resolved_digest_date,
)

PAPER_HREF = re.compile(
    r"^(?:https?://(?:www\.)?huggingface\.co)?/papers/(?P<id>[^/?#]+)(?:[/?#].*)?$", re.DOTALL
)
PAPER_LINK = re.compile(
    rf"""href\s*=\s*["']?(?:https?://(?:www\.)?huggingface\.co)?/papers/{NEW_STYLE_ID}""", re.IGNORECASE
)
LEADING_COMMENTS = re.compile(r"^\s*(?:<!--.*?-->\s*)*", re.DOTALL)
# The census's patterns (HfPapersHtml.census), each with bounded repetition so the count stays linear.
_LINKED_ID = re.compile(
    rf"""href[ \t\n]*=[ \t\n]*["']?(?:https?://(?:www\.)?huggingface\.co)?/papers/({NEW_STYLE_ID})(?![\d])""",
    re.IGNORECASE,
)
_Q = r"(?:&quot;|\")"  # a quote inside data-props: escaped as the attribute holds it, or raw
_EMBEDDED_ID = re.compile(rf"{_Q}paper{_Q}:[ \t\n]*\{{[ \t\n]*{_Q}id{_Q}:[ \t\n]*{_Q}({NEW_STYLE_ID}){_Q}")
_HEAD_TAG = re.compile(r"<(?:link|meta)\b[^<>]{0,2000}>", re.IGNORECASE)
_CANONICAL = re.compile(r"""rel[ \t\n]*=[ \t\n]*["']?canonical|property[ \t\n]*=[ \t\n]*["']?og:url""", re.IGNORECASE)
_PAPER_URL = re.compile(rf"/papers/{NEW_STYLE_ID}(?![\d./])")
_HIDDEN_OPEN = re.compile(r"<(script|style)(?=[\s/>])|<!--", re.IGNORECASE)
_HIDDEN_CLOSE = re.compile(r"</(script|style)[ \t\n]*>|-->", re.IGNORECASE)


def _without_closed_blocks(text: str) -> str:
    """The markup without closed <script>/<style> blocks and comments.

    A block is closed as html_tree.Tree reads it: its end tag comes before the same tag opens again; an
    unclosed one hides nothing. Linear: every opening and end is found once, and matched by bisection.
    """
    opens: dict[str, list[int]] = {"script": [], "style": [], "": []}
    closes: dict[str, list[tuple[int, int]]] = {"script": [], "style": [], "": []}
    for m in _HIDDEN_OPEN.finditer(text):
        opens[(m[1] or "").lower()].append(m.start())
    for m in _HIDDEN_CLOSE.finditer(text):
        closes[(m[1] or "").lower()].append((m.start(), m.end()))
    blocks = []
    for kind, starts in opens.items():
        ends = [start for start, _ in closes[kind]]
        for i, at in enumerate(starts):
            j = bisect.bisect_right(ends, at)
            # A comment ends at its first "-->" whatever opens inside it; a script or style must not reopen first.
            if j < len(ends) and (not kind or i + 1 == len(starts) or starts[i + 1] > ends[j]):
                blocks.append((at, closes[kind][j][1]))
    kept, pos = [], 0
    for at, end in sorted(blocks):
        if at >= pos:
            kept.append(text[pos:at])
            pos = end
    kept.append(text[pos:])
    return "".join(kept)


ABSTRACT_CLASS = re.compile(r"abstract|summary", re.IGNORECASE)
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The site's own title suffix/prefix on a paper page: "Paper page - <title>", "<title> - Hugging Face".
TITLE_DECORATION = re.compile(r"^\s*Paper page\s*[-–—:]\s*|\s*[-–—|]\s*Hugging Face\s*$", re.IGNORECASE)


@dataclass
class _Card:
    node: Node  # the <article>, or the heading in heading mode
    heading: Node | None
    paragraphs: list[Node]
    links: list[Node]


class HfPapersHtml:
    """Hugging Face papers page saved as HTML: one record per card, id from its /papers/<id> link.

    >>> # <article><h3><a href="/papers/2503.02130">T</a></h3><p>Abstract.</p></article>
    >>> # -> arxiv_id "2503.02130", title_raw "T", abstract_raw "Abstract."
    """

    name = "hf_papers_html"
    rank = 2  # scraped from a page
    announces = "papers linked or embedded"

    def census(self, text: str) -> int:
        """Papers the page announces, counted on the raw markup: 1 for a paper's own page (its canonical URL is
        /papers/<id>), else the distinct ids of /papers/<id> links outside closed <script>/<style> blocks and
        comments, or of embedded paper objects (`"paper":{"id":...`), whichever is more.

        An unclosed <style> hides nothing here, so a reader that lost the page after it falls short.
        """
        visible = _without_closed_blocks(text)
        for tag in _HEAD_TAG.finditer(visible):
            if _CANONICAL.search(tag[0]) and _PAPER_URL.search(tag[0]):
                return 1
        linked = {m[1] for m in _LINKED_ID.finditer(visible)}
        embedded = {m[1] for m in _EMBEDDED_ID.finditer(text)}
        return max(len(linked), len(embedded))

    def sniff(self, text: str) -> bool:
        head = LEADING_COMMENTS.sub("", text[:4096], count=1).lower()
        return head.startswith(("<!doctype html", "<html")) and bool(PAPER_LINK.search(text))

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        tree = parsed_html(text)
        if (embedded := _embedded_papers(tree.root)) is not None:
            parsed = self._embedded(embedded, dump, year)
        elif (page := _paper_page(tree.root)) is not None:
            parsed = self._paper_page(page, dump, year)
        else:
            parsed = self._cards(tree, dump, text, year)
        if tree.unclosed:  # read past a <script>/<style> that never ends: say so on what was read after it
            flagged = parsed.records.with_columns(pl.col("record_flags").list.concat(pl.lit(["html_recovered"])))
            parsed = dataclasses.replace(parsed, records=flagged)
        return parsed

    def _embedded(self, embedded: _Embedded, dump: Dump, year: int | None) -> Parsed:
        """Records from the page's embedded JSON, read like the daily-papers API (dates, authors, links)."""
        rows, problems = [], []
        listed = list_days([item for _, item in embedded.items])
        for position, (line, item) in enumerate(embedded.items, start=1):
            row = api_record(item)
            if isinstance(row, str):
                problems.append(quarantine_row(dump, f"line {line}", row, json.dumps(item, ensure_ascii=False)))
                continue
            # The list page names its day; else the day as the API items give it.
            digest = (embedded.day, "page_date") if embedded.day is not None else listed.digest(item, dump, year)
            rows.append({**provenance(dump, self.name, digest), "position": position, "line": line, **row})
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)

    def _paper_page(self, page: _Card, dump: Dump, year: int | None) -> Parsed:
        """The one record of a paper's own page without embedded data: its id, <h1> and abstract."""
        place = provenance(dump, self.name, digest_date(dump, year))
        row = {**place, "position": 1, "line": page.node.line, **(_record(page) or {}), "published_at": None}
        return Parsed(records_frame([row]), quarantine_frame([]), self.name)

    def _cards(self, tree: Tree, dump: Dump, text: str, year: int | None) -> Parsed:
        cards = _cards(tree.root)
        in_cards = {id(n) for card in cards for n in card.node.walk()}
        place = provenance(dump, self.name, _page_date(tree.root, in_cards, dump, year))
        complete = bool(re.search(r"</html\s*>", text[-4096:], re.IGNORECASE))
        rows, problems = [], []
        for position, card in enumerate(cards, start=1):
            row = _record(card)
            # A page cut short leaves its last card open; what it holds is kept, flagged.
            last_open = position == len(cards) and not all(n.closed for n in [card.node, *card.paragraphs])
            cut = last_open and not complete
            if row is None:
                reason = "truncated HTML" if cut else "card has neither a /papers/<id> link nor a title"
                problems.append(quarantine_row(dump, f"line {card.node.line}", reason, card.node.text()))
                continue
            row["record_flags"] += ["truncated"] if cut else []
            rows.append({**place, "position": position, "line": card.node.line, **row})
        return Parsed(records_frame(rows), quarantine_frame(problems), self.name)


@dataclass
class _Embedded:
    items: list[tuple[int, dict]]  # (line of the element carrying the data, API-shaped item)
    day: dt.date | None  # the day a daily list page names (its dateString)


def _embedded_papers(root: Node) -> _Embedded | None:
    """Paper objects from the pages' data-props JSON, or None when the page embeds none.

    >>> # <div data-target="DailyPapers" data-props="{&quot;dailyPapers&quot;:[{&quot;paper&quot;:{...}}]}">
    >>> # -> _Embedded(items=[(line, {"paper": {...}, ...})], day=None)
    """
    items: list[tuple[int, dict]] = []
    seen: set[str] = set()
    day = None
    for node in root.walk():
        if "data-props" not in node.attrs:
            continue
        try:
            props = json.loads(node.attrs["data-props"])
        except ValueError:
            continue
        if not isinstance(props, dict):
            continue
        if isinstance(props.get("dailyPapers"), list):
            items += [(node.line, item) for item in props["dailyPapers"] if isinstance(item, dict)]
            named = props.get("date") or props.get("dateString")
            if isinstance(named, str) and ISO_DAY.match(named) and props.get("periodType", "day") == "day":
                day = dt.date.fromisoformat(named)
        # A paper's own page: its "paper" object, once (other components of the page may repeat it).
        paper = props.get("paper")
        if isinstance(paper, dict) and isinstance(paper.get("id"), str) and paper["id"] not in seen:
            seen.add(paper["id"])
            items.append((node.line, {"paper": paper}))
    return _Embedded(items, day) if items else None


def _paper_page(root: Node) -> _Card | None:
    """A single paper's page (canonical URL /papers/<id>) as one card: its id, <h1> title and abstract."""
    link = None
    for node in root.walk():
        url = node.attrs.get("href", "") if node.tag == "link" and "canonical" in node.attrs.get("rel", "") else ""
        if node.tag == "meta" and node.attrs.get("property") == "og:url":
            url = node.attrs.get("content", "")
        if url and _paper_id(Node("a", {"href": url}, node.line)) is not None:
            link = Node("a", {"href": url}, node.line)
            break
    if link is None:
        return None
    nodes = list(root.walk())
    heading = next((n for n in outermost(n for n in nodes if n.tag == "h1") if n.text()), None)
    if heading is None:
        title = next((n.attrs.get("content", "") for n in nodes if n.attrs.get("property") == "og:title"), "")
        heading = Node("h1", {}, link.line, [TITLE_DECORATION.sub("", title)])
    # The abstract is the paragraph after the "Abstract" heading; else the page's description.
    headings = {id(n) for n in outermost(n for n in nodes if n.tag in HEADINGS)}
    marker = next(
        (i for i, n in enumerate(nodes) if id(n) in headings and n.text().strip().lower() == "abstract"), None
    )
    after = outermost(n for n in nodes[marker + 1 :] if n.tag == "p") if marker else []
    paragraphs = [next((n for n in after if n.text()), None)] if marker else []
    if not any(paragraphs):
        described = next(
            (n.attrs.get("content", "") for n in nodes if n.tag == "meta" and n.attrs.get("name") == "description"), ""
        )
        paragraphs = [Node("p", {"class": "abstract"}, link.line, [described])] if described else []
    return _Card(heading, heading, [p for p in paragraphs if p is not None], [link])


def _cards(root: Node) -> list[_Card]:
    """Paper cards in page order: outermost <article>s, else headings that link to a paper."""
    articles, nested = [], set()
    for node in root.walk():
        if node.tag == "article" and id(node) not in nested:
            articles.append(node)
            nested |= {id(n) for n in node.walk()}
    if articles:
        cards = []
        for article in articles:
            below = list(article.walk())[1:]
            cards.append(
                _Card(
                    article,
                    next((n for n in below if n.tag in HEADINGS), None),
                    [n for n in below if n.tag == "p"],
                    _paper_links(article),
                )
            )
        return cards

    # Heading mode: a heading linking to a paper starts a card and takes the paragraphs that follow it inside
    # the heading's own container, so a footer outside that container never lends the last card its abstract.
    # A heading inside a heading is part of it, not a card of its own.
    parents = {id(child): node for node in root.walk() for child in node.children if isinstance(child, Node)}
    extent = spans(root)
    headings = {id(n) for n in outermost(n for n in root.walk() if n.tag in HEADINGS)}
    cards: list[_Card] = []
    for node in root.walk():
        if id(node) in headings and (links := _paper_links(node)):
            cards.append(_Card(node, node, [], links))
        elif node.tag == "p" and cards and inside(node, parents.get(id(cards[-1].node)), extent):
            cards[-1].paragraphs.append(node)
    return cards


def _record(card: _Card) -> dict | None:
    """One card -> RAW_RECORDS fields (no provenance, no date), or None when it has no id and no title."""
    flags: list[str] = []
    in_heading = {id(n) for n in card.heading.walk()} if card.heading else set()
    heading_links = [a for a in card.links if id(a) in in_heading]
    ids = [parts for a in heading_links + card.links if (parts := _paper_id(a))]
    arxiv_id, version = ids[0] if ids else (None, None)
    title = card.heading.text() if card.heading else ""
    title = title or next((text for a in outermost(card.links) if (text := a.text())), "")
    if arxiv_id is None and not title:
        return None
    if not title:
        flags.append("title_missing")
    if arxiv_id is None:
        flags.append("arxiv_id_missing")
    # The abstract is the paragraph marked as such, else the longest one (cards also carry short meta lines).
    paragraphs = outermost(card.paragraphs)
    marked = [p for p in paragraphs if ABSTRACT_CLASS.search(p.attrs.get("class", ""))]
    texts = [p.text() for p in (marked or paragraphs)]
    abstract = (marked and texts[0]) or max(texts, key=len, default="") or None
    if abstract is None:
        flags.append("abstract_missing")
    times = [n for n in card.node.walk() if n.tag == "time" and n.attrs.get("datetime")]
    return {
        "arxiv_id": arxiv_id,
        "arxiv_version": version,
        "title_raw": title,
        "abstract_raw": abstract,
        "published_at": instant(times[0].attrs["datetime"]) if times else None,
        "record_flags": flags,
    }


def _paper_links(node: Node) -> list[Node]:
    return [n for n in node.walk() if n.tag == "a" and _paper_id(n) is not None]


def _paper_id(link: Node) -> tuple[str, int | None] | None:
    m = PAPER_HREF.match(link.attrs.get("href", ""))
    return arxiv_id_parts(m["id"], exact=True) if m else None


def _page_date(root: Node, in_cards: set[int], dump: Dump, year: int | None) -> Digest:
    """Digest date: a <time datetime> outside the cards, else a "Mar 13" heading, else name/file time."""
    page = [n for n in root.walk() if id(n) not in in_cards]
    for node in page:
        if node.tag == "time" and (when := _date_attr(node.attrs.get("datetime", ""))) is not None:
            return when, "time_element"
    for node in outermost(n for n in page if n.tag in HEADINGS | {"time"}):
        if (found := month_day(node.text().replace("\xa0", " "))) is not None:
            return resolved_digest_date(*found, dump, year)
    return digest_date(dump, year)


def _date_attr(value: str) -> dt.date | None:
    """A datetime attribute: a plain date stays as written, a timestamp is taken in UTC."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        stamp = instant(value)
        return stamp.date() if stamp else None
