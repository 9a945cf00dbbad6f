"""A forgiving HTML tree for the HTML readers: html.parser events -> nested nodes, in time linear in the page.

Tag soup is expected (saved pages, fuzzed bytes): stray end tags are ignored, unclosed tags left open, a <script> or
<style> that never ends does not swallow the page, and markup that can never be completed is read as text. Nothing
here knows what a paper is (flows/readers/hf_html.py does).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
HIDDEN = frozenset({"script", "style", "template", "noscript", "svg"})  # never page text
CLOSES_P = frozenset(
    {"p", "div", "article", "section", "ul", "ol", "table", "header", "footer", "nav", *HEADINGS}
)


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node | str] = field(default_factory=list)
    closed: bool = False

    # Explicit stacks, not recursion: tag soup (thousands of unclosed <div>s) nests deeper than recursion.
    def walk(self) -> Iterator[Node]:
        """This node and every element below it in document order, hidden elements skipped."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack += [c for c in reversed(node.children) if isinstance(c, Node) and c.tag not in HIDDEN]

    def text(self) -> str:
        """The visible text below this node, outer whitespace stripped."""
        parts, stack = [], [iter(self.children)]
        while stack:
            for child in stack[-1]:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in HIDDEN:
                    stack.append(iter(child.children))
                    break
            else:
                stack.pop()
        return "".join(parts).strip()


class Tree(HTMLParser):
    """A forgiving DOM: stray end tags ignored, an open <p> closed by a block, unclosed tags left open.

    A <script> or <style> that is never closed (or is opened again before its end tag) does not swallow the rest
    of the page, as it would in html.parser and in a browser: its content is read as markup, so the cards after
    it survive, and `unclosed` names it. Building is linear in the input, however deep the nesting.
    """

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, 1)
        self.stack = [self.root]
        self.open_tags: Counter[str] = Counter()  # tags on the stack, so an end tag is matched in O(1)
        self.unclosed: list[tuple[str, int]] = []  # (tag, line) of raw-text elements read as markup
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self._raw_text = {
            tag: ([m.start() for m in re.finditer(rf"<{tag}(?=[\s/>])", text, re.IGNORECASE)],
                  [m.start() for m in re.finditer(rf"</\s*{tag}\s*>", text, re.IGNORECASE)])
            for tag in self.CDATA_CONTENT_ELEMENTS
        }

    def set_cdata_mode(self, elem: str) -> None:
        line, column = self.getpos()  # the start tag's "<": the parser moves on only after this call
        at = self._line_starts[line - 1] + column
        opens, closes = self._raw_text[elem.lower()]
        close = bisect.bisect_right(closes, at)
        reopen = bisect.bisect_right(opens, at)
        if close == len(closes) or (reopen < len(opens) and opens[reopen] < closes[close]):
            self.unclosed.append((elem.lower(), line))
            return
        super().set_cdata_mode(elem)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CLOSES_P and self.stack[-1].tag == "p":
            self._pop()
        node = Node(tag, {k: v or "" for k, v in attrs}, self.getpos()[0])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)
            self.open_tags[tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(
            Node(tag, {k: v or "" for k, v in attrs}, self.getpos()[0], closed=True)
        )

    def handle_endtag(self, tag: str) -> None:
        if self.open_tags[tag]:
            while self._pop().tag != tag:
                pass

    def _pop(self) -> Node:
        node = self.stack.pop()
        node.closed = True
        self.open_tags[node.tag] -= 1
        return node

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parsed_html(text: str) -> Tree:
    text = _without_dead_ends(text)
    tree = Tree(text)
    tree.feed(text)
    tree.close()
    return tree


_COMMENT_CLOSE = re.compile(r"--\s*>")


def _without_dead_ends(text: str) -> str:
    """The page with markup that can never be completed turned into text, so html.parser stays linear.

    html.parser (3.11) searches to the end of the input for the terminator of every "<!--", "<![", "</", "<?" or
    start tag it meets, and starts again one character later when there is none: thousands of unterminated ones
    made parsing quadratic. A "<" after the last ">" and a "<!--" after the last "-->" cannot end, and a "<!["
    section (CDATA, only valid inside SVG/MathML, which are never page text) also made the parser assert; all
    become text, as a browser shows them.
    """
    text = text.replace("<![", "&lt;![")
    last_close = max((m.end() for m in _COMMENT_CLOSE.finditer(text)), default=0)
    if "<!--" in text[last_close:]:
        text = text[:last_close] + text[last_close:].replace("<!--", "&lt;!--")
    last_gt = text.rfind(">") + 1
    if "<" in text[last_gt:]:
        text = text[:last_gt] + text[last_gt:].replace("<", "&lt;")
    return text


def spans(root: Node) -> dict[int, tuple[int, int]]:
    """Each element's (first, last) index in document order, below and including itself: containment in O(1)."""
    spans: dict[int, tuple[int, int]] = {}
    order, stack = 0, [(root, iter(root.children))]
    first = {id(root): 0}
    while stack:
        node, children = stack[-1]
        child = next((c for c in children if isinstance(c, Node) and c.tag not in HIDDEN), None)
        if child is None:
            stack.pop()
            spans[id(node)] = (first[id(node)], order)
            continue
        order += 1
        first[id(child)] = order
        stack.append((child, iter(child.children)))
    return spans


def inside(node: Node, container: Node | None, spans: dict[int, tuple[int, int]]) -> bool:
    if container is None or id(node) not in spans or id(container) not in spans:
        return False
    (start, end), (at, _) = spans[id(container)], spans[id(node)]
    return start <= at <= end


def outermost(nodes: Iterable[Node]) -> list[Node]:
    """The nodes (in document order) that no earlier one of them contains.

    Their subtrees are disjoint, so reading the text of each costs linear time in all; nested headings,
    paragraphs or links (tag soup) would otherwise read the same text once per level.
    """
    kept, covered = [], set()
    for node in nodes:
        if id(node) not in covered:
            kept.append(node)
            covered.update(id(n) for n in node.walk())
    return kept
