r"""LaTeX in text: each fragment ($x^2$, \'e, \textbf{Fast}, \eg) found by pattern and converted on its own.

The prose around a fragment is never parsed as TeX (a bare % would end it, ~ would become a space, {here}
vanish). pylatexenc converts each distinct fragment once (flows/parallel.py): ~7,000 fragments per second, where
whole abstracts would go at the SPEC's 180/s. LaTeX that lost its backslash is flows/clean/half_stripped.py's.
"""

from __future__ import annotations

import logging
import re
from functools import cache

import polars as pl

from flows.clean.characters import tidied
from flows.parallel import each_remembered

# Inline math the pandoc way: no space just inside either dollar and no digit right after the closing one, so
# "$5 and $10" and "$5M and ($40)" are prices, not math. Abstracts also write "$ O(n) $" with inner spaces: a span
# that holds a command word is math all the same (prices never hold one). Rust's regex has no look-ahead, so the
# digit after a closing dollar is matched too: _MATH_FOUND says whether a text holds math, and _MATH (for
# extracting fragments) takes the digit along and latex_converted drops such fragments.
_INLINE_MATH = r"\$[^$\s](?:[^$]*[^$\s])?\$|\$[^$]{0,300}?\\[A-Za-z][^$]{0,300}?\$"
_DISPLAY_MATH = r"\$\$[^$]+\$\$|\\\(.*?\\\)|\\\[.*?\\\]"
_MATH = rf"{_DISPLAY_MATH}|(?:{_INLINE_MATH})[0-9]?"
_MATH_FOUND = rf"{_DISPLAY_MATH}|(?:{_INLINE_MATH})(?:[^0-9]|$)"
_BRACED = r"\{(?:[^{}]|\{[^{}]*\})*\}"
# Escaped characters and TeX spacing, with their text.
_CONTROL_SYMBOLS = {
    r"\$": "$",
    r"\%": "%",
    r"\&": "&",
    r"\_": "_",
    r"\#": "#",
    r"\{": "{",
    r"\}": "}",
    r"\,": "",  # a thin space: "i.\,i.\,d" is written i.i.d
    r"\!": "",
    r"\/": "",
    r"\@": "",
    r"\-": "",  # a discretionary hyphen
    r"\;": " ",
    r"\:": " ",
    r"\ ": " ",
    "\\\\": " ",
}
# Prose abbreviations from CVPR-style macro files; pylatexenc does not know them and would drop them.
_ABBREVIATIONS = {
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "etc": "etc.",
    "vs": "vs.",
    "wrt": "w.r.t.",
    "cf": "cf.",
    "aka": "a.k.a.",
    "iid": "i.i.d.",
}
_ABBREVIATION = r"\\(" + "|".join(_ABBREVIATIONS) + r")\b\.?"


def _latex_pieces(math: str) -> str:
    """The pieces of LaTeX in a text, each converted on its own and put back in place (see the module note)."""
    return "|".join(
        [
            # \$, \%, \,: first, so that in "\$5 and \$10" no dollar can open math
            r"\\[$%&_#{},;:! @/\-\\]",
            # \eg, \ie. (before command words: "\egfoo" is another command)
            _ABBREVIATION,
            # {\'e}, {\em word}: a group that opens with a command travels with its braces
            r"\{\\(?:[^{}]|\{[^{}]*\})*\}",
            math,
            # \textbf{Fast}, \emph{a {b} c}, \v{s}, \LaTeX: a command word with its optional/brace arguments
            rf"\\[A-Za-z]+\*?(?:\[[^\[\]]*\])?(?:{_BRACED})*",
            # \'e, \"{o}, \'\i: accents made of a symbol
            r"""\\['"`^~=.](?:\{[^{}]*\}|\\?[A-Za-z])""",
        ]
    )


LATEX_FRAGMENT = _latex_pieces(_MATH)
LATEX_FOUND = _latex_pieces(_MATH_FOUND)  # the same, for "does this text hold LaTeX" (prices are not math)


def _unknown_macro_text(node, l2tobj) -> str:
    # pylatexenc drops macros it does not know (\LaTeX, \ours, \mbox{x}); keeping the name or the
    # arguments keeps the text ("LaTeX conversion never loses text", SPEC §9).
    args = [arg for arg in (node.nodeargd.argnlist if node.nodeargd else []) if arg is not None]
    if args:
        return "".join(l2tobj.nodelist_to_text([arg]) for arg in args)
    return node.macroname


def _href_text(node, l2tobj) -> str:
    args = [arg for arg in (node.nodeargd.argnlist if node.nodeargd else []) if arg is not None]
    return l2tobj.nodelist_to_text([args[-1]]) if args else ""


def _fraction_text(node, l2tobj) -> str:
    r"""\frac{a}{b} as a/b, each side in parentheses unless it is one symbol or number: 1/(n+1), (a+b)/c."""
    args = [arg for arg in (node.nodeargd.argnlist if node.nodeargd else []) if arg is not None]
    if len(args) != 2:
        return "".join(l2tobj.nodelist_to_text([arg]) for arg in args)
    sides = [l2tobj.nodelist_to_text([arg]).strip() for arg in args]
    return "/".join(side if _ATOM.fullmatch(side) else f"({side})" for side in sides)


def _binomial_text(node, l2tobj) -> str:
    args = [arg for arg in (node.nodeargd.argnlist if node.nodeargd else []) if arg is not None]
    return "C(" + ",".join(l2tobj.nodelist_to_text([arg]).strip() for arg in args) + ")"


# One symbol, number or word: needs no parentheses as a side of a fraction or as a super/subscript.
_ATOM = re.compile(r"\w+(?:[.,]\d+)?|\W", re.UNICODE)
_ONE_COMMAND = re.compile(r"\\[A-Za-z]+(?:\{[^{}\\]*\})?")  # \star, \mathsf{sp}

# Commands that only format or space text: they never become words. pylatexenc would print the name of those it
# does not know (\newline -> "newline"); the ones with an argument drop it too (\vspace{2mm}).
_FORMATTING = [
    *["em", "bf", "it", "rm", "sf", "tt", "sc", "sl", "bfseries", "itshape", "mdseries", "upshape", "cal"],
    *["scshape", "normalfont", "small", "large", "Large", "LARGE", "huge", "Huge", "tiny", "scriptsize"],
    *["footnotesize", "normalsize", "centering", "noindent", "par", "hline", "displaystyle", "textstyle"],
    *["scriptstyle", "scriptscriptstyle", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl"],
    *["Bigr", "biggl", "biggr", "middle", "limits", "nolimits", "nonumber", "notag", "strut", "mathstrut"],
    *["protect", "relax", "allowbreak", "nobreak", "hfil", "hfill", "vfill", "smallskip", "medskip", "bigskip"],
    *["selectfont", "ignorespaces", "unskip", "xspace", "leavevmode", "null", "displaybreak", "boldmath"],
]
_BREAKS = ["newline", "linebreak", "pagebreak", "newpage", "clearpage", "break", "cr", "enspace", "thinspace"]
# Symbols pylatexenc 2.10 does not know (it would print their names).
_EXTRA_SYMBOLS = {
    "Diamond": "◇", "diamond": "⋄", "Box": "□", "checkmark": "✓", "colon": ":", "coloneqq": "≔",
    "eqqcolon": "≕", "lhd": "◁", "rhd": "▷", "varnothing": "∅", "Arrowvert": "‖", "Vert": "‖", "|": "‖",
    "lVert": "‖", "rVert": "‖", "lvert": "|", "rvert": "|", "bigstar": "★", "blacksquare": "■",
    "llbracket": "⟦", "rrbracket": "⟧", "iff": "⟺", "implies": "⟹", "impliedby": "⟸",
}
_WITH_TEXT_ARGUMENT = ["boldsymbol", "bm", "operatorname", "mathnormal", "ensuremath", "textnormal", "mbox", "hbox"]


@cache
def _latex_converter():
    from pylatexenc import latexwalker
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
    from pylatexenc.macrospec import std_macro

    logging.getLogger("pylatexenc").setLevel(logging.ERROR)  # tolerant parsing warns on every odd brace
    walker_db = latexwalker.get_default_latex_context_db()
    walker_db.add_context_category(
        "papers",
        prepend=True,
        macros=[
            std_macro("href", False, 2),
            *(std_macro(name, False, 2) for name in ("frac", "tfrac", "dfrac", "cfrac", "binom", "tbinom")),
            *(std_macro(name, False, 1) for name in _WITH_TEXT_ARGUMENT),
            *(std_macro(name, True, 1) for name in ("vspace", "hspace", "phantom", "hphantom", "vphantom")),
        ],
    )
    text_db = get_default_latex_context_db()
    silent = ["cite", "citep", "citet", "citealp", "citeauthor", "ref", "eqref", "autoref", "cref", "label"]
    silent += ["vspace", "hspace", "phantom", "hphantom", "vphantom"]
    text_db.add_context_category(
        "papers",
        prepend=True,
        macros=[MacroTextSpec(name, "") for name in silent + _FORMATTING]
        + [MacroTextSpec(name, " ") for name in _BREAKS]
        + [MacroTextSpec(name, sym) for name, sym in _EXTRA_SYMBOLS.items()]
        + [MacroTextSpec(name, "%s") for name in _WITH_TEXT_ARGUMENT]
        + [MacroTextSpec(name, simplify_repl=_fraction_text) for name in ("frac", "tfrac", "dfrac", "cfrac")]
        + [MacroTextSpec(name, simplify_repl=_binomial_text) for name in ("binom", "tbinom")]
        + [MacroTextSpec("url", "%s"), MacroTextSpec("href", simplify_repl=_href_text)],
    )
    text_db.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=_unknown_macro_text))
    return walker_db, LatexNodes2Text(latex_context=text_db, math_mode="text")


SUPERSCRIPTS = dict(zip("0123456789+-=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ", strict=True))
SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
# ^ or _ with a braced group (one level of nested braces) or a single character.
_SCRIPT = re.compile(r"([\^_])(?:\{((?:[^{}]|\{[^{}]*\})*)\}|([0-9A-Za-z+\-=()*]))")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_ABBREVIATION_PY = re.compile(_ABBREVIATION)
_STYLED_PLAIN = re.compile(
    r"\\(?:textbf|textit|textsl|textsc|texttt|textrm|textsf|textup|textmd|emph|underline|mbox|text)"
    r"\{([^\\{}$%~^_&#`]*)\}"
)
# TeX drops the space after a command word, but in an abstract that space separates words: "$x \in A$" must not
# read "x ∈A". A control space keeps it; not before an argument, and not after \left, \right, \big...
_SPACE_AFTER_COMMAND = re.compile(r"(\\(?!left|right|big|Big)[A-Za-z]+)\s+(?=[^\s{\[])")
# ... and the space before one: "$\mathbf{X} \in A$" must not read "𝐗∈ A".
_SPACE_BEFORE_COMMAND = re.compile(r"([^\s\\{(\[^_])\s+(\\(?!right|big|Big)[A-Za-z]+)")
# Operator names TeX sets off by a thin space: "n\log n" reads "n log n".
_OPERATOR_AFTER_WORD = re.compile(
    r"(?<=[A-Za-z0-9)}])\\(log|ln|lg|exp|sin|cos|tan|max|min|sup|inf|lim|det|arg|deg|dim|ker|Pr|gcd|mod)(?![A-Za-z])"
)
# Old-style font switches in a group ({\rm eff}, {\cal L}) and font commands with an unbraced one-character
# argument (\mathcal L) read as the braced command, so the letter keeps its font and is never lost.
_GROUP_FONT = re.compile(r"\{\\(rm|bf|it|sf|tt|cal|em|sl)\s+([^{}\\]*)\}")
_GROUP_FONT_AS = {"rm": "mathrm", "bf": "mathbf", "it": "mathit", "sf": "mathsf", "tt": "mathtt",
                  "cal": "mathcal", "em": "mathit", "sl": "mathit"}
_UNBRACED_FONT = re.compile(r"\\(mathcal|mathbb|mathbf|mathrm|mathsf|mathit|mathscr|mathfrak|boldsymbol|bm)\s+(\w)")
# Upright text inside math is plain text: \mathrm{eff} is "eff" (so that _{\rm eff} becomes a plain subscript).
_PLAIN_TEXT_IN_MATH = re.compile(r"\\(?:mathrm|text|textrm|textnormal|mathup|operatorname\*?)\{([^{}\\$]*)\}")
# A command word directly followed by a non-ASCII letter ("\sumᵢ" once scripts became Unicode) would be read as
# one longer, unknown command name.
_COMMAND_BEFORE_NON_ASCII = re.compile(r"(\\[A-Za-z]+)(?=[^\x00-\x7f])")


def _scripted(match: re.Match) -> str:
    """^2 -> ², _{ij} -> ᵢⱼ; a group that has no Unicode form keeps its grouping: ^{-x} -> ^(-x), ^{n+1} -> ⁿ⁺¹."""
    table = SUPERSCRIPTS if match.group(1) == "^" else SUBSCRIPTS
    body = match.group(2) if match.group(2) is not None else match.group(3)
    if body and all(char in table for char in body):
        return "".join(table[char] for char in body)
    stripped = (body or "").strip()
    if re.fullmatch(r"\{[^{}]*\}", stripped):  # ^{{total}}, left by \text{total}
        stripped = stripped[1:-1].strip()
    if match.group(2) is None or _ATOM.fullmatch(stripped) or _ONE_COMMAND.fullmatch(stripped):
        # One symbol or a single command (^\star, ^*): no parentheses needed; the group's braces go.
        return match.group(1) + (stripped if match.group(2) is None else "{" + stripped + "}")
    return match.group(1) + "{(" + body + ")}"


def _math_prepared(fragment: str) -> str:
    r"""A math fragment rewritten so that pylatexenc keeps its letters, grouping and spaces (see the patterns)."""
    fragment = _GROUP_FONT.sub(lambda m: "\\" + _GROUP_FONT_AS[m[1]] + "{" + m[2].strip() + "}", fragment)
    fragment = _UNBRACED_FONT.sub(r"\\\1{\2}", fragment)
    previous = None
    while previous != fragment:  # \text{\mathrm{x}}: innermost first
        previous, fragment = fragment, _PLAIN_TEXT_IN_MATH.sub(r"{\1}", fragment)
    fragment = _OPERATOR_AFTER_WORD.sub(r"\\ \\\1", fragment)
    fragment = _SCRIPT.sub(_scripted, fragment)
    fragment = _COMMAND_BEFORE_NON_ASCII.sub(r"\1{}", fragment)
    fragment = _SPACE_BEFORE_COMMAND.sub(r"\1\\ \2", fragment)
    return _SPACE_AFTER_COMMAND.sub(r"\1\\ ", fragment)


def _latex_fragment_text(fragment: str) -> str:
    r"""Unicode text of one LaTeX fragment: '$O(n^2)$' -> 'O(n²)', "\'e" -> 'é', '\textbf{Fast}' -> 'Fast'."""
    return tidied(_fragment_unicode(fragment))


def _fragment_unicode(fragment: str) -> str:
    from pylatexenc import latexwalker

    if fragment in _CONTROL_SYMBOLS:
        return _CONTROL_SYMBOLS[fragment]
    styled = _STYLED_PLAIN.fullmatch(fragment)
    if styled and "--" not in fragment and "''" not in fragment:
        # \textbf{Some Title}: the most common fragment by far, and its text is just the argument.
        return styled.group(1)
    if abbreviation := _ABBREVIATION_PY.fullmatch(fragment):
        return _ABBREVIATIONS[abbreviation.group(1)]
    if fragment.startswith(("$", "\\(", "\\[")):
        fragment = _math_prepared(fragment)
    # pylatexenc reads a bare % as a comment and silently drops the rest of the text.
    fragment = _BARE_PERCENT.sub(r"\\%", fragment)
    walker_db, to_text = _latex_converter()
    try:
        walker = latexwalker.LatexWalker(fragment, latex_context=walker_db, tolerant_parsing=True)
        nodes, _, _ = walker.get_latex_nodes()
        return to_text.nodelist_to_text(nodes)
    except Exception:  # noqa: BLE001 - pylatexenc raises assorted errors on malformed input
        # Keep the words rather than fail the batch: drop the markup characters only.
        return re.sub(r"\\([A-Za-z]+)|[\\{}$]", r"\1", fragment)


def latex_converted(values: pl.Series) -> pl.Series:
    """LaTeX fragments in values replaced by their Unicode text; the plain text around them is left alone."""
    fragments = values.str.extract_all(LATEX_FRAGMENT).explode().drop_nulls().unique()
    # A "math" span closed by a dollar that a digit follows is a price ("$5M and ($40)"): left as it is.
    fragments = fragments.filter(~(fragments.str.starts_with("$") & fragments.str.contains(r"[0-9]$")))
    if fragments.is_empty():
        return values
    # Longest first: where several start at one position, replace_many(leftmost=True) takes the first listed.
    fragments = fragments.gather(fragments.str.len_bytes().arg_sort(descending=True))
    texts = each_remembered(_latex_fragment_text)(fragments)
    return values.str.replace_many(fragments.to_list(), texts.to_list(), leftmost=True)

