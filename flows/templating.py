"""The two Jinja2 environments over flows/templates/: HTML (autoescaped) for the report, Markdown for the card.

One template set: facts.html.j2 and facts.md.j2 render the facts both documents share (flows/facts.py), one
macro per fact and format; report.html.j2 and card.md.j2 are the documents. Markdown has no autoescaping in
Jinja, so its templates pass every value from the data through `md` (text), `code` (a code span) or `num`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from schemas.patterns import URL

# Markdown would read these as markup (links, code, emphasis, table cells) or, for <>&, as raw HTML.
_MD_ESCAPES = str.maketrans(
    {**{c: "\\" + c for c in "\\`*[]|"}, "<": "&lt;", ">": "&gt;", "&": "&amp;", "\r": " ", "\n": " "}
)


def md(value: object) -> str:
    """A value made safe inside Markdown (a table cell too): shown as text, never as markup or HTML."""
    return str(value).translate(_MD_ESCAPES)


def code(value: object) -> str:
    """A value as a Markdown code span: shown verbatim (a backtick inside would end it, so it becomes ')."""
    return "`" + str(value).replace("`", "'").replace("\n", " ") + "`"


def num(value: Any) -> str:
    """Integers with thousands separators; anything else as str()."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def pct(share: float) -> str:
    return f"{share:.1%}"


def is_http_url(value: Any) -> bool:
    """Whether value may be emitted as a link: an absolute http(s) URL with nothing that could break out."""
    return isinstance(value, str) and re.fullmatch(URL, value) is not None


def breakable(name: Any) -> Markup:
    """An expectation name that wraps after its underscores rather than mid-word."""
    return Markup(str(escape(name)).replace("_", "_<wbr>"))


def json_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("flows", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,  # a misspelt fact fails the render, it does not vanish from the page
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, pct=pct, json_text=json_text, breakable=breakable, md=md, code=code)
    env.tests["http_url"] = is_http_url
    return env


@cache
def html_environment() -> Environment:
    return _environment(autoescape=True)


@cache
def markdown_environment() -> Environment:
    return _environment(autoescape=False)
