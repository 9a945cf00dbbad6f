"""Clean stage: raw records -> records with cleaned title/abstract, a title key, canonical URLs and flags.

Every public function returns a Polars expression (SPEC §6): string kernels run only on the rows a cheap scan
says need them, and Python runs per value only for pylatexenc / ftfy / html, once per distinct string or LaTeX
fragment. It does no I/O, does not merge papers (identity is the pipeline's job), does not detect language.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache, partial

import ftfy
import polars as pl

from schemas.expectations import ABSTRACT_TEX_RESIDUE, HTML_TAG, TITLE_TEX_RESIDUE
from schemas.tables import LINK_KINDS

FLAG_MEANINGS: dict[str, str] = {
    "abstract_missing": "the record has no abstract (null or empty after cleaning)",
    "title_empty": "the title is empty after cleaning; the record cannot be identified by title",
    "latex_residue_title": "the cleaned title still holds LaTeX: a backslash, '$', '{' or '}', a ^{...} group or "
    "half-stripped LaTeX (textsc{...}, cdot/infty glued to text) that the repairs did not recognise",
    "latex_residue_abstract": "the cleaned abstract still holds TeX: a command, $...$ math, a stray '$' next to a "
    "converted symbol or a formatting command left as a word (schemas/expectations.ABSTRACT_TEX_RESIDUE)",
    "stripped_latex_repaired": "in the title, half-stripped LaTeX was repaired: a command name glued to the text "
    "(ARTcdotV -> ART·V, pi_0 -> π₀), left before its braces (textsc{Foo} -> Foo) or a bare ^/_ (Model^2 -> "
    "Model²); the guess is worth a glance (abstracts are repaired the same way, unflagged)",
    "mojibake_repaired": "title or abstract was mis-decoded text (e.g. 'CafÃ©') and was repaired by ftfy",
    "mojibake_suspected": "the cleaned title or abstract still looks mis-decoded (checked where the raw text "
    "was non-ASCII or held HTML entities)",
    "html_residue": "the cleaned title or abstract still contains an HTML tag",
    "html_removed_title": "HTML tags (<i>, <sub>, <div>, ...) were removed from the title; title_raw keeps them",
    "authors_truncated": "the source ended the author list with 'et al.': more authors than those listed (a "
    "reader adds authors_not_shown:N when the source gives the number)",
}

# Python converters run in the process that cleans: per-file work is what runs in parallel (flows/parallel.py).
# We convert LaTeX fragments, not whole abstracts: pylatexenc does ~7,000 of them per second (the SPEC's 180/s
# is for whole abstracts).

# --- patterns (Rust regex for Polars; no look-around, no backreferences) ---------------------------------

# UTF-8 read as cp1252/latin-1: a lead byte shown as Â..ï followed by a continuation byte shown as
# U+0080..U+00BF or one of cp1252's remapped 0x80..0x9F characters (€, ‚, ƒ, „, …, ™, œ, ...).
_CONT = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e"
    "\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
MOJIBAKE = f"[\u00c2-\u00ef][{_CONT}]"
_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
_ENTITY_PY = re.compile(_ENTITY)

# Inline math the pandoc way: no space just inside either dollar and no digit right after the closing one, so
# "$5 and $10" and "$5M and ($40)" are prices, not math. Abstracts also write "$ O(n) $" with inner spaces: a span
# that holds a command word is math all the same (prices never hold one). Rust's regex has no look-ahead, so the
# digit after a closing dollar is matched too: _MATH_FOUND says whether a text holds math, and _MATH (for
# extracting fragments) takes the digit along and _latex_converted drops such fragments.
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
# The pieces of LaTeX in a text, each converted on its own (once per distinct piece) and put back in place, so
# the prose around them is never parsed as TeX (a bare % would end it, ~ would become a space, {here} vanish).
def _latex_pieces(math: str) -> str:
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


_LATEX_FRAGMENT = _latex_pieces(_MATH)
_LATEX_FOUND = _latex_pieces(_MATH_FOUND)  # the same, for "does this text hold LaTeX" (prices are not math)

# Invisible characters, plus the private-use character this module uses as a marker (_MARK): it carries no
# meaning in paper text, and leaving it in would let input collide with the marker.
_INVISIBLE = "[\u200b-\u200d\u2060\ufeff\u00ad\ue001]"
# Only runs of two or more, or a lone non-ASCII-space whitespace (NBSP, tab, newline...), need rewriting.
_WHITESPACE = r"\s\s+|[^\S ]"
# The same two rules for the Python converters' output (Rust's \s is Unicode White_Space, spelled out here).
_INVISIBLE_PY = re.compile(_INVISIBLE)
_SPACE_CHARS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE_PY = re.compile(f"[{_SPACE_CHARS}]{{2,}}|[{_SPACE_CHARS.replace(' ', '')}]")
# Characters NFC can change: marks (which may compose with what precedes) and the few that NFC maps to
# another character (computed from Python's unicodedata: normalize('NFC', c) != c, plus composing jamo).
_NOT_NFC = (
    r"["
    r"\p{M}\x{0374}\x{037E}\x{0387}\x{0958}-\x{095F}\x{09DC}-\x{09DD}\x{09DF}\x{0A33}\x{0A36}"
    r"\x{0A59}-\x{0A5B}\x{0A5E}\x{0B5C}-\x{0B5D}\x{0F43}\x{0F4D}\x{0F52}\x{0F57}\x{0F5C}\x{0F69}"
    r"\x{1161}-\x{1175}\x{11A8}-\x{11C2}\x{1F71}\x{1F73}\x{1F75}\x{1F77}\x{1F79}\x{1F7B}\x{1F7D}"
    r"\x{1FBB}\x{1FBE}\x{1FC9}\x{1FCB}\x{1FD3}\x{1FDB}\x{1FE3}\x{1FEB}\x{1FEE}-\x{1FEF}\x{1FF9}"
    r"\x{1FFB}\x{1FFD}\x{2000}-\x{2001}\x{2126}\x{212A}-\x{212B}\x{2329}-\x{232A}\x{2ADC}"
    r"\x{F900}-\x{FA0D}\x{FA10}\x{FA12}\x{FA15}-\x{FA1E}\x{FA20}\x{FA22}\x{FA25}-\x{FA26}"
    r"\x{FA2A}-\x{FA6D}\x{FA70}-\x{FAD9}\x{FB1D}\x{FB1F}\x{FB2A}-\x{FB36}\x{FB38}-\x{FB3C}\x{FB3E}"
    r"\x{FB40}-\x{FB41}\x{FB43}-\x{FB44}\x{FB46}-\x{FB4E}\x{1D15E}-\x{1D164}\x{1D1BB}-\x{1D1C0}"
    r"\x{2F800}-\x{2FA1D}"
    r"]"
)
_HTML_TAG = r"(?i)</?(?:i|b|u|em|strong|sub|sup|tt|code|span|p|div|br|a|font|small|big|mark)(?:\s[^<>]*)?/?>"
_HTML_TAG_PY = re.compile(_HTML_TAG)
_HTML_RESIDUE = HTML_TAG
_GLUED_URL = r"([\p{L}\p{N}])(?i:(https?://))"
# What any TeX residue needs, as separate scans that each run at memory speed (one regex mixing a character class
# with words would not), before the residue patterns of schemas/expectations.py run on the rows they let through.
_TEX_CHARACTERS = r"[\\${}^_]"
_TITLE_RESIDUE_WORDS = r"cdot|ldots|infty|arrow|leq|geq|neq|otimes|oplus|propto|mapsto"
_ABSTRACT_RESIDUE_WORDS = (
    r"text(?:sc|bf|it|tt|rm|sf)|math(?:cal|bb|bf|rm|sf|it|scr|frak)|emph|boldsymbol|operatorname|frac|sqrt|"
    r"newline|linebreak|[vh]space|noindent"
)

# Half-stripped LaTeX: a site dropped the "\" and "$" of a command and glued its name to the text (ARTcdotV,
# Xalpha_0), left a command name before its braces (textsc{Foo}-Bench) or a bare ^/_ (Model^2, X^{3}Net). It is a
# family, repaired by where the name sits, so that words merely containing a name (anecdotal, Simple, Mathematical,
# Pessimistic, Textbooks, infinity, alphabet, Omegaverse) or spelling a letter out (beta-VAE) are never touched:
# - names that are no English word (cdot, infty, arrows, leq...) anywhere they touch no lower-case letter;
# - any name between capitals/digits on both sides (ARTtimesV, XDeltaY; not "eta": BetaVAE is a word);
# - "times", "approx" and the longer Greek names glued to a capital/digit on their left (10times, LLMalpha);
# - a lower-case Greek name right before a sub/superscript (pi_0 -> π₀).
# pm and mp are left out: inside capitals/digits they are as likely a name or a unit (3pm5) as a lost "\pm".
_NON_WORD_COMMANDS = {
    "cdot": "·", "cdots": "⋯", "ldots": "…", "infty": "∞", "rightarrow": "→", "leftarrow": "←",
    "leftrightarrow": "↔", "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "longrightarrow": "⟶",
    "mapsto": "↦", "leq": "≤", "geq": "≥", "neq": "≠", "otimes": "⊗", "oplus": "⊕", "propto": "∝",
}
_WORD_COMMANDS = {"times": "×", "approx": "≈"}
_GREEK_LOWER = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω",
}
_GREEK_UPPER = {
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ",
    "Psi": "Ψ", "Omega": "Ω",
}
STRIPPED_COMMANDS = {**_NON_WORD_COMMANDS, **_WORD_COMMANDS, **_GREEK_LOWER, **_GREEK_UPPER}


def _names(names) -> str:
    return "|".join(sorted(names, key=len, reverse=True))


# Three-letter names (tau, chi, phi...) are left out between capitals: they are too common inside words for the
# scan to stay cheap, and too short to be told from an acronym (XchiY).
_BETWEEN_CAPITALS = [n for n in STRIPPED_COMMANDS if n != "eta" and len(n) >= 4]
_GLUED_LEFT = [*_WORD_COMMANDS, *(n for n in _GREEK_LOWER if len(n) >= 5)]
# (pattern, where the name is): every rule has the name in group 2, its neighbours in groups 1 and 3.
# A name already repaired sits between markers (_MARK): no rule may take a marker for a neighbour.
_MARK = "\ue001"
_STRIPPED_RULES = [
    rf"([A-Z0-9])({_names(_BETWEEN_CAPITALS)})([A-Z0-9])",
    rf"(^|[^a-z\\{_MARK}])({_names(_NON_WORD_COMMANDS)})([^a-z{_MARK}]|$)",
    rf"([A-Z0-9])({_names(_GLUED_LEFT)})([^a-z{_MARK}]|$)",
    rf"(^|[^A-Za-z\\{_MARK}])({_names(_GREEK_LOWER)})([\^_])",
]
_STRIPPED_COMMAND = "|".join(_STRIPPED_RULES)
# Font and text commands that lost their backslash but kept their braces: textsc{Foo}-Bench -> Foo-Bench.
_COMMAND_BEFORE_BRACE = (
    r"(^|[^A-Za-z\\])(textsc|textbf|textit|texttt|textrm|textsf|textsl|textup|emph|underline|mathcal|mathbb|"
    r"mathbf|mathrm|mathsf|mathit|mathscr|mathfrak|boldsymbol|operatorname|text|sqrt|hat|tilde|bar|vec)"
    r"\{([^{}\\$]*)\}"
)
# A bare super/subscript after a letter, digit or bracket: Model^2, X^{3}Net, x_1 (snake_case is not one).
# Subscripts only on a one-letter base (x_1, H_2O), so identifiers such as "model_v2" are left alone.
_BARE_SCRIPT = (
    r"[\p{L}\p{N})\]]\^(?:\{[0-9A-Za-z+\-=()]{1,12}\}|[0-9]{1,3}|[+\-])"
    r"|(?:^|[^\p{L}\p{N}_])\p{L}_(?:\{[0-9a-z+\-=()]{1,12}\}|[0-9]{1,2})"
)
_HALF_STRIPPED = f"{_STRIPPED_COMMAND}|{_COMMAND_BEFORE_BRACE}|{_BARE_SCRIPT}"
# Abstracts get the seed's rule only (a symbol name between capitals/digits: "we present ARTcdotV") and bare
# scripts: a kilobyte of prose per row makes the family's scans cost seconds per million abstracts, and the
# half-stripped family is a title defect (a site strips LaTeX from the titles it shows).
_ABSTRACT_STRIPPED_NAMES = {
    name: STRIPPED_COMMANDS[name]
    for name in ("cdot", "times", "rightarrow", "leftarrow", "leftrightarrow", "Rightarrow", "Leftarrow",
                 "approx", "leq", "geq", "neq")
}
_ABSTRACT_STRIPPED = rf"([A-Z0-9])({_names(_ABSTRACT_STRIPPED_NAMES)})([A-Z0-9])"
# What any half-stripped repair needs, as scans Rust's regex runs at memory speed (the rules themselves have
# context groups it cannot skip ahead on): a ^, _ or {; a non-word command name; a longer name after a
# capital or digit. Checked on every row, so the rules run only on the few that pass. Three scans, not one:
# joined into one regex they cost five times as much (measured on 200k seed abstracts: 0.1 s vs 0.6 s).
_HALF_STRIPPED_HINTS = (
    r"[\^_{]",
    f"(?:{_names(_NON_WORD_COMMANDS)})",
    f"[A-Z0-9](?:{_names(set(_BETWEEN_CAPITALS) | set(_GLUED_LEFT))})",
)


def _half_stripped_hint(values: pl.Series) -> pl.Series:
    """Rows that may hold half-stripped LaTeX (see _HALF_STRIPPED_HINTS); one select, so the scans run in parallel."""
    text = pl.col("text")
    hints = pl.any_horizontal([text.str.contains(hint) for hint in _HALF_STRIPPED_HINTS])
    return values.alias("text").to_frame().select(hints.fill_null(False)).to_series()

# A title's trailing period stays after an abbreviation (et al., etc., U.S., e.g.) or an ellipsis.
_KEEP_FINAL_PERIOD = r"(\bet al|\betc|\bvs|\bInc|\bLtd|\bCorp|\bJr|\bSr|\.\p{L}{1,3}|\.\.)\.$"

_URL_FOUND = r"(?i)https?://[^\s<>]+"
_URL_PARTS = r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$"
# http(s), optional user info, a dotted host name of letters/digits/hyphens, an optional port.
_URL_VALID = (
    r"^https?://(?:[^@/?#\s]+@)?"
    r"[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}-]+)+\.?"
    r"(?::[0-9]{1,5})?(?:[/?#]|$)"
)

_CODE_HOSTS = (
    r"^(?:github\.com|gist\.github\.com|raw\.githubusercontent\.com|gitlab\.com|bitbucket\.org|codeberg\.org|"
    r"gitee\.com|sourceforge\.net|git\.sr\.ht)$"
)
_VIDEO_HOSTS = r"^(?:youtube\.com|youtu\.be|vimeo\.com|player\.vimeo\.com|bilibili\.com|b23\.tv)$"
_DATASET_HOSTS = r"^(?:zenodo\.org|figshare\.com|dataverse\.harvard\.edu|data\.mendeley\.com|physionet\.org)$"
_DATASET_PATHS = r"^(?:huggingface\.co|hf\.co|kaggle\.com)$"
_PAPER_HOSTS = (
    r"^(?:arxiv\.org|export\.arxiv\.org|doi\.org|dx\.doi\.org|openreview\.net|aclanthology\.org|"
    r"proceedings\.neurips\.cc|papers\.nips\.cc|proceedings\.mlr\.press|openaccess\.thecvf\.com|dl\.acm\.org|"
    r"ieeexplore\.ieee\.org|link\.springer\.com|biorxiv\.org|medrxiv\.org|semanticscholar\.org|"
    r"paperswithcode\.com|ojs\.aaai\.org|jmlr\.org)$"
)
# Reference and social sites: a path there is an article or a post, not a project page.
_NOT_PROJECT_HOSTS = (
    r"(?:^|\.)(?:wikipedia\.org|twitter\.com|x\.com|linkedin\.com|reddit\.com|facebook\.com|medium\.com|"
    r"discord\.gg|discord\.com|huggingface\.co|hf\.co)$"
)
_PROJECT_HOSTS = (
    r"(?:\.github\.io|\.gitlab\.io|\.notion\.site|\.netlify\.app|\.vercel\.app|\.pages\.dev|\.readthedocs\.io)$"
    r"|^sites\.google\.com$"
)


def _expr(col: str | pl.Expr) -> pl.Expr:
    return pl.col(col) if isinstance(col, str) else col


def _named_like(result: pl.Expr, col: str | pl.Expr) -> pl.Expr:
    """result under the input's name (a struct field would otherwise name it), when that name is known."""
    name = _expr(col).meta.output_name(raise_if_undetermined=False)
    return result.alias(name) if name else result


# --- Python converters, run once per distinct string that needs them --------------------------------------


# How many results each converter remembers. A worker cleans file after file, and the same LaTeX fragments
# ($\epsilon=5$, \'e, \eg) come back in most of them; converters are pure, so a remembered result is the result.
# Bounded, least recently used out first: fragments that recur stay, one-off values (a \textbf{title}) pass through.
_REMEMBERED = 4096


@cache
def _remembering(convert: Callable[[str], str]) -> Callable[[str], str]:
    return lru_cache(maxsize=_REMEMBERED)(convert)


def _converted(convert: Callable[[str], str], items: list[str]) -> list[str]:
    """convert applied to each item, in this process; results are remembered from earlier calls (see above)."""
    remembered = _remembering(convert)
    return [remembered(item) for item in items]


def _tidy(text: str) -> str:
    """A converter's output as the vectorised rules would leave it: visible, single-spaced, NFC."""
    text = unicodedata.normalize("NFC", _WHITESPACE_PY.sub(" ", _INVISIBLE_PY.sub("", text)))
    # An accent with no letter before it would combine with whatever text precedes the converted piece.
    while text and unicodedata.combining(text[0]):
        text = text[1:]
    return text


def _fixed_encoding(text: str) -> str:
    return _tidy(ftfy.fix_encoding(text))


def _distinct_converted(values: pl.Series, needs: pl.Series, convert: Callable[[str], str]) -> pl.Series:
    """values with convert applied once per distinct value where needs is true."""
    distinct = values.filter(needs).unique()
    if distinct.len() == 0:
        return values
    fixed = pl.Series(_converted(convert, distinct.to_list()), dtype=pl.String)
    return values.replace(distinct, fixed)


def _unescaped_entities(text: str) -> str:
    """HTML entities decoded, repeatedly, so "&amp;lt;" settles too: 'R&amp;D' -> 'R&D'."""
    for _ in range(3):
        decoded = _ENTITY_PY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    # An escaped inline tag ("&lt;i&gt;") is a tag once decoded; it goes like the others did, or cleaning the
    # cleaned text would remove it then.
    return _tidy(_HTML_TAG_PY.sub(" ", text))


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


_SUPERSCRIPTS = dict(zip("0123456789+-=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀ", strict=True))
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
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
    table = _SUPERSCRIPTS if match.group(1) == "^" else _SUBSCRIPTS
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
    return _tidy(_fragment_unicode(fragment))


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


def _latex_converted(values: pl.Series) -> pl.Series:
    """LaTeX fragments in values replaced by their Unicode text; the plain text around them is left alone."""
    fragments = values.str.extract_all(_LATEX_FRAGMENT).explode().drop_nulls().unique()
    # A "math" span closed by a dollar that a digit follows is a price ("$5M and ($40)"): left as it is.
    fragments = fragments.filter(~(fragments.str.starts_with("$") & fragments.str.contains(r"[0-9]$")))
    if fragments.is_empty():
        return values
    # Longest first: where several start at one position, replace_many(leftmost=True) takes the first listed.
    fragments = fragments.gather(fragments.str.len_bytes().arg_sort(descending=True)).to_list()
    return values.str.replace_many(fragments, _converted(_latex_fragment_text, fragments), leftmost=True)


def _non_ascii(values: pl.Series) -> pl.Series:
    # A byte count above the character count is a length check, much cheaper than any regex scan.
    return values.str.len_bytes() != values.str.len_chars()


def _may_be_mojibake(values: pl.Series) -> pl.Series:
    """Rows holding a character U+00C0..U+00FF, as every MOJIBAKE match does (it opens with one of U+00C2..U+00EF).

    One search for their UTF-8 lead byte 0xC3, which runs at memory speed; the pattern itself scans a byte at a time
    and would otherwise run on every non-ASCII row (curly quotes, Greek letters, math symbols).
    """
    return values.cast(pl.Binary).bin.contains(b"\xc3")


def _where(values: pl.Series, rows: pl.Series, transform: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """transform applied to the selected rows only, the others left as they are."""
    # Every Polars string op writes a whole new column, even where nothing matches (~1 s per GB); picking the
    # rows with a fast scan first and writing back only those is what keeps 1M abstracts within seconds.
    rows = rows.fill_null(False)
    if not rows.any():
        return values
    where = rows.arg_true()
    # scatter writes in place: clone so the caller's series is left as it was
    return values.clone().scatter(where, transform(values.gather(where)))


def _visible(values: pl.Series) -> pl.Series:
    """Invisible characters dropped; NBSP, tabs, newlines and runs of spaces made one space."""
    rows = (
        _non_ascii(values)
        | values.str.contains(r"[\t\n\r\x0b\x0c]")
        | values.str.contains("  ", literal=True)
    )
    return _where(
        values, rows, lambda text: text.str.replace_all(_INVISIBLE, "").str.replace_all(_WHITESPACE, " ")
    )


def _nfc(values: pl.Series) -> pl.Series:
    """Unicode NFC, computed only where it can change something."""
    return _where(values, values.str.contains(_NOT_NFC), lambda needing: needing.str.normalize("NFC"))


def _rows_replaced(values: pl.Series, rows: pl.Series, replacement: pl.Series) -> pl.Series:
    """values with the selected rows replaced, in order, by replacement (for the list types scatter lacks)."""
    n = values.len()
    place = pl.select(pl.when(pl.lit(rows)).then(pl.lit(rows).cum_sum() - 1 + n).otherwise(pl.int_range(n)))
    return pl.concat([values, replacement]).gather(place.to_series())


def _matching(values: pl.Series, rows: pl.Series, pattern: str) -> pl.Series:
    """values.str.contains(pattern), tested on the given rows only (false elsewhere)."""
    found = rows.fill_null(False)
    where = found.arg_true()
    return found.scatter(where, values.gather(where).str.contains(pattern))


def _repairable(values: pl.Series) -> pl.Series:
    """Rows that still show mojibake, an HTML entity or LaTeX."""
    # Mojibake is non-ASCII by definition, entities and LaTeX need & \ or $: gate the slow patterns on those.
    mojibake = _matching(values, _may_be_mojibake(values), MOJIBAKE)
    latex = _matching(values, values.str.contains(r"[\\$&]"), f"{_ENTITY}|{_LATEX_FOUND}")
    # A command name before its braces shows up once a repair removed what stood before it ("\\textbf{x}"), and a
    # tag once a repair made one ("<\\a>" -> "<a>").
    revealed = _matching(values, values.str.contains("{", literal=True), _COMMAND_BEFORE_BRACE)
    return mojibake | latex | revealed | _matching(values, values.str.contains("<", literal=True), _HTML_TAG)


def _repaired(values: pl.Series) -> pl.Series:
    """Mojibake (ftfy), HTML entities and LaTeX (pylatexenc) repaired, once per distinct value or fragment."""
    values = _where(values, _may_be_mojibake(values), _mojibake_repaired)
    values = _where(values, values.str.contains("&", literal=True), _entities_decoded)
    values = _where(values, values.str.contains(r"[\\$]"), _latex_converted)
    # Converted text comes back tidied (_tidy), but a piece that became "" or " " can leave two spaces.
    return _where(values, values.str.contains("  ", literal=True), lambda t: t.str.replace_all(" {2,}", " "))


def _mojibake_repaired(values: pl.Series) -> pl.Series:
    return _distinct_converted(values, values.str.contains(MOJIBAKE), _fixed_encoding)


def _entities_decoded(values: pl.Series) -> pl.Series:
    return _distinct_converted(values, values.str.contains(_ENTITY), _unescaped_entities)


def _tex_quotes(values: pl.Series) -> pl.Series:
    """TeX quotes made typographic: ``x" ``x'' "x'' -> “x”, `x' -> ‘x’."""
    # A single quote holding an apostrophe (`the model's view') is left as it is: which ' closes it is a guess,
    # and a wrong guess would make cleaning its own output change it again.
    return (
        values.str.replace_all(r"``([^`\"]*?)(?:''|\")", "“${1}”")
        .str.replace_all(r"\"([^\"`\s][^\"`]*?)''", "“${1}”")
        .str.replace_many({"``": "“", "''": "”"})
        .str.replace_all(r"`([^`'‘’\s][^`'‘’]*)'([^\p{L}`'‘’]|$)", "‘${1}’${2}")
    )


def _stripped_commands_repaired(values: pl.Series) -> pl.Series:
    """Command names that lost their backslash, glued to the text, made symbols: ARTcdotV -> ART·V (see above)."""
    # Twice: replace_all does not overlap, so in "AcdotBcdotC" the B is taken by the first match.
    for _ in range(2):
        for rule in _STRIPPED_RULES:
            values = values.str.replace_all(rule, "${1}" + _MARK + "${2}" + _MARK + "${3}")
    return values.str.replace_many({f"{_MARK}{name}{_MARK}": sym for name, sym in STRIPPED_COMMANDS.items()})


def _abstract_commands_repaired(values: pl.Series) -> pl.Series:
    """The seed's rule in abstracts: a symbol name between capitals/digits made a symbol (ARTcdotV -> ART·V)."""
    for _ in range(2):  # "AcdotBcdotC" overlaps
        values = values.str.replace_all(_ABSTRACT_STRIPPED, "${1}" + _MARK + "${2}" + _MARK + "${3}")
    return values.str.replace_many({f"{_MARK}{n}{_MARK}": sym for n, sym in _ABSTRACT_STRIPPED_NAMES.items()})


def _bare_script_text(found: str) -> str:
    """'l^2' -> 'l²', 'X^{3}' -> 'X³', 'x_1' -> 'x₁'; left as it is when some character has no Unicode form."""
    at = found.index("^") if "^" in found else found.index("_")
    head, mark, body = found[:at], found[at], found[at + 1 :].removeprefix("{").removesuffix("}")
    table = _SUPERSCRIPTS if mark == "^" else _SUBSCRIPTS
    return head + "".join(table[c] for c in body) if all(c in table for c in body) else found


def _bare_scripts_converted(values: pl.Series) -> pl.Series:
    """Bare ^/_ scripts (Model^2) made Unicode, each distinct one converted once."""
    # Up to three rounds: matches do not overlap, so in "x^2^3" the second script waits for the first.
    for _ in range(3):
        found = values.str.extract_all(_BARE_SCRIPT).explode().drop_nulls().unique()
        converted = [_bare_script_text(f) for f in found.to_list()]
        if found.is_empty() or converted == found.to_list():
            break
        # Longest first: where several start at one position, replace_many(leftmost=True) takes the first listed.
        order = found.str.len_bytes().arg_sort(descending=True)
        values = values.str.replace_many(
            found.gather(order).to_list(), [converted[i] for i in order.to_list()], leftmost=True
        )
    return values


def _text_rules(values: pl.Series, *, title: bool) -> pl.Series:
    """The rules shared by titles and abstracts, each run on the rows a fast scan says it can change."""
    # Tags and invisible characters go before the repairs, so the repairs see the text a reader sees
    # ("\<i>x" must not turn into a TeX control space once the tag is gone: idempotence).
    values = _where(
        values, values.str.contains("<", literal=True), lambda t: t.str.replace_all(_HTML_TAG, " ")
    )
    # A command name left before its braces gets its backslash back, so the LaTeX repair below converts it.
    if title:
        values = _where(
            values,
            _matching(values, values.str.contains("{", literal=True), _COMMAND_BEFORE_BRACE),
            lambda t: t.str.replace_all(_COMMAND_BEFORE_BRACE, "${1}\\${2}{${3}}"),
        )
    values = _repaired(_visible(values))
    values = _where(
        values, values.str.contains(_GLUED_URL), lambda t: t.str.replace_all(_GLUED_URL, "${1} ${2}")
    )
    # Whitespace is single spaces by now, so only a space can need stripping.
    values = _where(
        values, values.str.starts_with(" ") | values.str.ends_with(" "), lambda t: t.str.strip_chars()
    )
    if title:
        hinted = _half_stripped_hint(values)
        values = _where(values, _matching(values, hinted, _STRIPPED_COMMAND), _stripped_commands_repaired)
    else:
        values = _where(values, values.str.contains(_ABSTRACT_STRIPPED), _abstract_commands_repaired)
    scripted = _matching(values, values.str.contains(r"[\^_]"), _BARE_SCRIPT)
    values = _where(values, scripted, _bare_scripts_converted)
    # Quotes last: a repaired symbol can be what closes a quote ("`α'cdot" -> "`α'·" -> "‘α’·").
    return _where(values, values.str.contains(r"`|''"), _tex_quotes)


def _final_period_dropped(values: pl.Series) -> pl.Series:
    """One trailing period dropped, not after an abbreviation or an ellipsis: 'A Title.' -> 'A Title'."""
    # The kept period is parked under a marker, so one linear chain does it.
    return (
        values.str.replace(_KEEP_FINAL_PERIOD, "${1}" + _MARK)
        .str.replace(r"([^.\s])\.$", "${1}")
        .str.replace(_MARK + "$", ".")
    )


def _colons_spaced(values: pl.Series) -> pl.Series:
    """'GUESS:GradUally' -> 'GUESS: GradUally', 'Network : JEI' -> 'Network: JEI'; 10:30, 1:1, http:// kept."""
    # Twice, because "A:B:C" overlaps.
    for _ in range(2):
        values = values.str.replace_all(r"(\p{L}):(\p{L})", "${1}: ${2}")
    return values.str.replace_all(r"([\p{L}\p{N})\]]) :(\s|$)", "${1}:${2}")


def _title_rules(values: pl.Series) -> pl.Series:
    # Only text that was non-ASCII to begin with can be out of NFC at the end: converters return NFC (_tidy),
    # and the rules only add precomposed characters (curly quotes, ·, ×).
    non_ascii = _non_ascii(values)
    values = _text_rules(values, title=True)
    # The period goes before " :" is tightened, so "Title :." ends as "Title:" in one pass.
    values = _where(values, values.str.ends_with("."), _final_period_dropped)
    values = _where(values, values.str.contains(":", literal=True), _colons_spaced)
    return _where(values, non_ascii, _nfc)


def _abstract_rules(values: pl.Series) -> pl.Series:
    non_ascii = _non_ascii(values)  # see _title_rules
    values = _where(_text_rules(values, title=False), non_ascii, _nfc)
    return _where(
        values, values == "", lambda empty: pl.repeat(None, empty.len(), dtype=pl.String, eager=True)
    )


def _settled(rules: Callable[[pl.Series], pl.Series], cleaned: pl.Series) -> pl.Series:
    """Cleaned rows that still look repairable cleaned again until they stop changing (at most 3 rounds)."""
    # One pass is not always a fixed point, and idempotence needs one: a repair can reveal another ("\$x\$"
    # becomes "$x$"), and a later rule can make text look like mojibake again ("Î``" becomes "Î“", which is
    # how UTF-8 "Γ" looks in cp1252). Only these few rows are re-run.
    todo = _repairable(cleaned)
    for _ in range(3):
        if not todo.any():
            break
        where = todo.arg_true()
        before = cleaned.gather(where)
        after = rules(before)
        cleaned = cleaned.clone().scatter(where, after)
        todo = pl.Series([False] * cleaned.len()).scatter(where, after.ne_missing(before))
    return cleaned


def _untouched(values: pl.Series, *, title: bool) -> pl.Series:
    """Rows that no cleaning rule would change, found with fast literal and byte-class scans only."""
    # Each check is what some rule needs in order to fire; a test pins that skipping these rows changes no
    # result. One select: Polars runs the scans in parallel, outside the GIL.
    text = pl.col("text")
    needs = [
        text.str.len_bytes()
        != text.str.len_chars(),  # non-ASCII: NFC, invisible, NBSP, mojibake, curly quotes
        # whitespace to rewrite, tags, TeX quotes, LaTeX and entities: one byte class is one fast scan
        text.str.contains(r"[\t\n\r\x0b\x0c<`\\$&]"),
        text.str.contains(r"  |''"),
        text.str.starts_with(" ") | text.str.ends_with(" "),
        text.str.contains(_GLUED_URL),
        text.str.contains(r"[\^_]"),  # bare scripts
        text == "",
    ]
    if title:
        needs += [text.str.contains(hint) for hint in _HALF_STRIPPED_HINTS]
        needs += [text.str.contains(":", literal=True), text.str.ends_with(".")]
    else:
        needs += [text.str.contains(_ABSTRACT_STRIPPED)]
    return values.alias("text").to_frame().select(~pl.any_horizontal(needs).fill_null(False)).to_series()


def _cleaned(rules: Callable[[pl.Series], pl.Series], title: bool, values: pl.Series) -> pl.Series:
    """rules applied to the rows that need them, then settled (see _settled)."""
    return _where(values, ~_untouched(values, title=title), lambda text: _settled(rules, rules(text)))


# --- text normalisers ------------------------------------------------------------------------------------


def normalized_title(col: str | pl.Expr) -> pl.Expr:
    r"""Cleaned title (SPEC §6); null stays null.

    Example: 'GUESS:GradUally Enriching $\alpha$-Net : Caf\'e.' -> 'GUESS: GradUally Enriching α-Net: Café'
    """
    # One map_batches: the rules are Polars string kernels run on the rows that need them (see _where).
    cleaned = partial(_cleaned, _title_rules, True)
    return _named_like(_expr(col).map_batches(cleaned, return_dtype=pl.String), col)


def normalized_abstract(col: str | pl.Expr) -> pl.Expr:
    r"""Cleaned abstract (SPEC §6); null stays null and an abstract with no text left becomes null.

    Example: 'by 0.6\% (\eg, ``reprogrammed" models) in researchhttps://x.io' ->
    'by 0.6% (e.g., “reprogrammed” models) in research https://x.io'
    """
    cleaned = partial(_cleaned, _abstract_rules, False)
    return _named_like(_expr(col).map_batches(cleaned, return_dtype=pl.String), col)


def _title_keys(titles: pl.Series) -> pl.Series:
    # Only non-ASCII titles have accents to fold (NFKD is the slow part); runs of spaces are rare once
    # punctuation is matched without the single spaces around it.
    folded = _where(
        titles, _non_ascii(titles), lambda text: text.str.normalize("NFKD").str.replace_all(r"\p{M}+", "")
    )
    keys = folded.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N} ]+", " ")
    keys = _where(
        keys, keys.str.contains("  ", literal=True), lambda text: text.str.replace_all(" {2,}", " ")
    )
    return _where(
        keys, keys.str.starts_with(" ") | keys.str.ends_with(" "), lambda text: text.str.strip_chars()
    )


def title_key(col: str | pl.Expr) -> pl.Expr:
    """Identity key of a cleaned title: lower case, accents folded, non-alphanumerics to one space.

    Example: 'ART·V: Auto-Regressive Café' -> 'art v auto regressive cafe'
    """
    return _named_like(_expr(col).map_batches(_title_keys, return_dtype=pl.String), col)


# --- authors ---------------------------------------------------------------------------------------------

# "et al." closing a list, alone or glued to the last name ("Jay Vakil et al."), with any "(57 additional authors
# not shown)" a reader left in.
_ET_AL = r"(?i)(?:^|[\s,;]+)et(?:\.\s*|\s+)al\.?(?:\s*\([^()]*\))?\s*$"
_AUTHOR_SEPARATOR = "\x1f"


def _author_rules(values: pl.Series) -> pl.Series:
    # The TeX, entity and mojibake repairs of titles, without the title-only rules (colons, final period) and
    # without the half-stripped repairs: a name such as "Xi" or "Tau" is a name, not a lost \xi.
    values = _where(
        values, values.str.contains("<", literal=True), lambda t: t.str.replace_all(_HTML_TAG, " ")
    )
    values = _repaired(_visible(values))
    values = _where(
        values, values.str.starts_with(" ") | values.str.ends_with(" "), lambda t: t.str.strip_chars()
    )
    return _where(values, _non_ascii(values), _nfc)


def _cleaned_author_lists(authors: pl.Series) -> pl.Series:
    """Lists of names with their TeX converted (once per distinct name) and a closing "et al." dropped."""
    joined = authors.list.join(_AUTHOR_SEPARATOR)
    needing = (
        _non_ascii(joined)
        | joined.str.contains(r"[\\${}&<\t\n]|  |(?i)\bet(?:\.\s*|\s+)al\b")
        | joined.str.contains(f"(?:^|{_AUTHOR_SEPARATOR}) |(?: |\\.){_AUTHOR_SEPARATOR}|\\s$")
    ).fill_null(False)
    if not needing.any():
        return authors
    rows = authors.filter(needing)
    flat = pl.DataFrame({"row": pl.int_range(rows.len(), eager=True), "name": rows}).explode("name")
    names = flat["name"]
    names = _where(names, ~_untouched(names, title=False), lambda text: _settled(_author_rules, _author_rules(text)))
    # After the repairs, so that an "et al." hidden behind an entity or a tag goes too.
    names = names.str.replace(_ET_AL, "").str.strip_chars()
    fixed = (
        flat.with_columns(name=names)
        .group_by("row", maintain_order=True)
        .agg(pl.col("name").filter(pl.col("name").is_not_null() & (pl.col("name") != "")))
        .sort("row")
        .get_column("name")
    )
    return _rows_replaced(authors, needing, fixed)


def normalized_authors(col: str | pl.Expr) -> pl.Expr:
    r"""Author names cleaned like titles (TeX, entities, mojibake, whitespace); "et al." is not an author.

    Example: ['Erwin Schr\"odinger', '{\L}ukasz Kaiser', 'et al.'] -> ['Erwin Schrödinger', 'Łukasz Kaiser']
    """
    return _named_like(_expr(col).map_batches(_cleaned_author_lists, return_dtype=pl.List(pl.String)), col)


def authors_truncated(col: str | pl.Expr) -> pl.Expr:
    """True where the raw author list ends with "et al." (alone or glued to the last name)."""
    return _expr(col).list.last().str.contains(_ET_AL).fill_null(False)


# --- URLs ------------------------------------------------------------------------------------------------

LINK = pl.Struct({"url_raw": pl.String, "url": pl.String, "kind": pl.String, "host": pl.String})


def canonical_url(col: str | pl.Expr) -> pl.Expr:
    """Canonical form of a URL string (scheme and host lower-cased, glued junk removed); null if not a URL.

    Example: '"HTTPS://GitHub.com/InternLM/OREAL".' -> 'https://github.com/InternLM/OREAL'
    """
    url = (
        _expr(col)
        .str.strip_chars()
        .str.replace(r"^[\"'(<\[“‘]+", "")
        .str.replace_many({r"\_": "_", r"\%": "%", r"\&": "&", r"\#": "#", r"\~": "~"})
        # "{here}" and friends: template placeholders left in by whoever wrote the abstract
        .str.replace_all(r"\{[^{}]*\}", "")
        # characters that cannot appear in a URL end it (they are quotes, TeX or prose around it)
        .str.replace(r"(?s)[\s\"<>`\\^|{}“”‘’].*$", "")
        # Trailing punctuation belongs to the sentence; a ")" stays only when it closes a "(" of the URL.
        .str.replace(r"^([^()]*?)[.,;:!?'*\])#]+$", "${1}")
        .str.replace(r"^(.*\([^()]*\)[^()]*?)[.,;:!?'*\])#]+$", "${1}")
        .str.extract_groups(_URL_PARTS)
        .struct.with_fields(
            pl.concat_str(
                [
                    pl.field("1").str.to_lowercase(),
                    pl.lit("://"),
                    pl.field("2").str.to_lowercase(),
                    pl.field("3"),
                ]
            ).alias("url")
        )
        .struct.field("url")
    )
    return _named_like(url.str.extract(f"({_URL_VALID}.*)", 1), col)


def url_host(url_col: str | pl.Expr) -> pl.Expr:
    """Lower-case host name of a URL, without user info or port (the real host: 'www.' is kept).

    Example: 'https://WWW.Example.com:8080/a' -> 'www.example.com'
    """
    return (
        _expr(url_col)
        .str.extract(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)", 1)
        .str.to_lowercase()
    )


def url_kind(url_col: str | pl.Expr) -> pl.Expr:
    """Kind of a canonical URL: code / video / dataset / paper / project / other (null for null).

    Example: 'https://github.com/InternLM/OREAL' -> 'code'; 'https://youtu.be/gCuUyGETbTU' -> 'video'
    """
    url = _expr(url_col)
    site, path = pl.field("site"), pl.field("path")
    hugging_face = site.str.contains(r"^(?:huggingface\.co|hf\.co)$")
    kind = (
        pl.when(site.is_null())
        .then(None)
        .when(site.str.contains(_CODE_HOSTS))
        .then(pl.lit("code"))
        .when(site.str.contains(_VIDEO_HOSTS))
        .then(pl.lit("video"))
        .when(
            site.str.contains(_DATASET_HOSTS)
            | (site.str.contains(_DATASET_PATHS) & path.str.contains(r"^/datasets(?:/|$)"))
        )
        .then(pl.lit("dataset"))
        .when(site.str.contains(_PAPER_HOSTS) | path.str.contains(r"(?i)\.pdf$"))
        .then(pl.lit("paper"))
        .when(site.str.contains(_PROJECT_HOSTS) | (hugging_face & path.str.contains(r"^/spaces/")))
        .then(pl.lit("project"))
        # A page on any other site (lhchen.top/Human-MAC, .../projects/CMP/) is taken for a project page;
        # models on the Hugging Face hub, articles and posts on reference/social sites and bare home pages
        # are "other".
        .when(path.str.contains(r"^/[^/]") & ~site.str.contains(_NOT_PROJECT_HOSTS))
        .then(pl.lit("project"))
        .otherwise(pl.lit("other"))
    )
    # 'www.' and 'm.' are the same site for classification (the host column keeps them). The struct lets
    # the when/then chain read site and path without re-evaluating the URL expression each time.
    return (
        pl.struct(
            site=url_host(url).str.replace(r"^(?:www[0-9]?|m)\.", ""),
            path=url.str.extract(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(/[^?#]*)?", 1).fill_null(""),
        )
        .struct.with_fields(kind.alias("kind"))
        .struct.field("kind")
        .pipe(_named_like, url_col)
    )


def _link(url_raw: pl.Expr, kind: pl.Expr | None = None) -> pl.Expr:
    """A LINK struct from a raw URL; a kind given by the source is kept when it is one of LINK_KINDS."""
    given = kind if kind is not None else pl.lit(None, pl.String)
    link = pl.struct(url_raw=url_raw, url=url_raw, kind=given, host=pl.lit(None, pl.String))
    # with_fields keeps the field order and lets later fields read earlier ones without re-evaluating them.
    link = link.struct.with_fields(canonical_url(pl.field("url_raw")).alias("url"))
    return link.struct.with_fields(
        pl.when(pl.field("kind").is_in(list(LINK_KINDS)))
        .then(pl.field("kind"))
        .otherwise(url_kind(pl.field("url")))
        .alias("kind"),
        url_host(pl.field("url")).alias("host"),
    )


def _distinct_links(links: pl.Series) -> pl.Series:
    """Lists of LINK structs without invalid URLs, keeping the first of each canonical URL."""
    # Filtering inside lists is slow in Polars (evaluated list by list), and lists needing it are rare (a
    # broken URL, the same URL written twice): only those rows go through the filter.
    urls = links.list.eval(pl.element().struct.field("url"))
    needing = (urls.list.n_unique() < urls.list.len()) | urls.list.eval(pl.element().is_null()).list.any()
    needing = needing.fill_null(False)
    if not needing.any():
        return links
    url = pl.element().struct.field("url")
    fixed = links.filter(needing).list.eval(pl.element().filter(url.is_not_null() & url.is_first_distinct()))
    return _rows_replaced(links, needing, fixed)


# Joins a kind given by a structured source to its URL inside one string key (a URL holds no NUL), so that
# structured and found URLs travel in one list[str]: concatenating lists of structs is ~10x slower.
_GIVEN_KIND = "\x00"


def _links_of(found: pl.Series) -> pl.Series:
    """Lists of raw URLs (or 'kind<NUL>url' keys) -> lists of LINK structs, each distinct one built once."""
    found = found.list.unique(maintain_order=True)  # the same raw URL twice in a text
    distinct = found.explode().drop_nulls().unique()
    if distinct.is_empty():
        return found.cast(pl.List(LINK))
    given = pl.lit(distinct).str.extract(f"^([^{_GIVEN_KIND}]*){_GIVEN_KIND}", 1)
    url_raw = pl.lit(distinct).str.replace(f"^[^{_GIVEN_KIND}]*{_GIVEN_KIND}", "")
    links = pl.select(_link(url_raw, given)).to_series()
    as_links = found.list.eval(pl.element().replace_strict(distinct, links, return_dtype=LINK))
    return _distinct_links(as_links)


def extracted_urls(col: str | pl.Expr) -> pl.Expr:
    """URLs found in a raw text, in order, one per canonical URL: list[struct{url_raw, url, kind, host}].

    Example: 'see researchhttps://github.com/InternLM/OREAL.' ->
    [{url_raw: 'https://github.com/InternLM/OREAL.', url: 'https://github.com/InternLM/OREAL', kind: 'code',
    host: 'github.com'}]
    """
    # The same URL turns up in many records (a paper in many digests), so links are built per distinct URL.
    found = _expr(col).str.extract_all(_URL_FOUND)
    return _named_like(found.map_batches(_links_of, return_dtype=pl.List(LINK)), col)


# --- records ---------------------------------------------------------------------------------------------


def _mojibake_in(values: pl.Series) -> pl.Series:
    return _matching(values, _may_be_mojibake(values), MOJIBAKE)


def _noticed(texts: pl.Series) -> pl.Series:
    """record_flags plus the cleaning flags (FLAG_MEANINGS), from a struct of the raw and cleaned columns."""
    texts = texts.struct.unnest()
    title, abstract = texts["title"], texts["abstract"]
    title_raw, abstract_raw = texts["title_raw"], texts["abstract_raw"]
    # Each slow pattern is tested only on the rows a fast scan lets through (see _matching). Cleaned text can
    # only look mis-decoded where the raw text was non-ASCII or held entities (our own curly quotes and
    # symbols would make every other row a candidate for a slow scan).
    odd_raw = (
        _non_ascii(title_raw)
        | _non_ascii(abstract_raw)
        | title_raw.str.contains("&", literal=True)
        | abstract_raw.str.contains("&", literal=True)
    )
    mis_decoded = _matching(title, odd_raw & _may_be_mojibake(title), MOJIBAKE) | _matching(
        abstract, odd_raw & _may_be_mojibake(abstract), MOJIBAKE
    )
    checks = {
        "abstract_missing": abstract.is_null(),
        "title_empty": title.fill_null("") == "",
        "latex_residue_title": _matching(
            title,
            title.str.contains(_TEX_CHARACTERS) | title.str.contains(_TITLE_RESIDUE_WORDS),
            rf"[\\$]|(?:^|[^a-z])cdot|cdot(?:[^a-z]|$)|{TITLE_TEX_RESIDUE}",
        ),
        "latex_residue_abstract": _matching(
            abstract,
            abstract.str.contains(_TEX_CHARACTERS) | abstract.str.contains(_ABSTRACT_RESIDUE_WORDS),
            ABSTRACT_TEX_RESIDUE,
        ),
        "stripped_latex_repaired": _half_stripped_in(title_raw, title),
        "mojibake_repaired": (_mojibake_in(title_raw) | _mojibake_in(abstract_raw)) & ~mis_decoded,
        "mojibake_suspected": mis_decoded,
        "html_residue": _matching(title, title.str.contains("<", literal=True), _HTML_RESIDUE)
        | _matching(abstract, abstract.str.contains("<", literal=True), _HTML_RESIDUE),
        # Removed by cleaning (flows/clean.py strips these tags), so said here rather than lost silently.
        "html_removed_title": _matching(title_raw, title_raw.str.contains("<", literal=True), _HTML_TAG),
        "authors_truncated": texts["authors_truncated"],
    }
    assert checks.keys() == FLAG_MEANINGS.keys()
    found = pl.DataFrame({name: check.fill_null(False) for name, check in checks.items()})
    given = pl.select(
        pl.lit(texts["record_flags"]).fill_null(pl.lit([], dtype=pl.List(pl.String)))
    ).to_series()
    flagged = found.select(pl.any_horizontal(pl.all())).to_series()
    if not flagged.any():
        return given
    # Building lists row by row is slow in Polars (~1.5 s per 1M rows) and flags are rare: only for flagged rows.
    merged = (
        found.filter(flagged)
        .with_columns(given.filter(flagged).alias("given"))
        .select(
            pl.concat_list(["given", *(pl.when(pl.col(name)).then(pl.lit(name)) for name in checks)])
            .list.drop_nulls()
            .list.unique(maintain_order=True)
        )
        .to_series()
    )
    return _rows_replaced(given, flagged, merged)


def _half_stripped_in(raw: pl.Series, cleaned: pl.Series) -> pl.Series:
    """Rows whose raw title held half-stripped LaTeX outside its intact LaTeX ($\\Omega_c^0$ is not half-stripped)."""
    found = (_half_stripped_hint(raw) & cleaned.ne_missing(raw)).fill_null(False)
    where = found.arg_true()
    outside = raw.gather(where).str.replace_all(_LATEX_FRAGMENT, " ").str.contains(_HALF_STRIPPED)
    return found.scatter(where, outside.fill_null(False))


def _flags() -> pl.Expr:
    """record_flags plus what cleaning noticed (see FLAG_MEANINGS), read from the raw and cleaned columns."""
    texts = pl.struct("title_raw", "abstract_raw", "title", "abstract", "record_flags", "authors_truncated")
    return texts.map_batches(_noticed, return_dtype=pl.List(pl.String))


def clean_records(raw: pl.LazyFrame) -> pl.LazyFrame:
    """RAW_RECORDS rows with title, abstract, title_key, urls and flags added; no row added or dropped."""
    none = pl.lit([], dtype=pl.List(pl.String))
    link = pl.element().struct
    given = pl.col("source_links").list.eval(
        pl.concat_str([link.field("kind").fill_null(""), pl.lit(_GIVEN_KIND), link.field("url")])
    )
    # Structured links first: their kind comes from the source (githubRepo, projectPage) and wins a tie.
    found = pl.concat_list(
        [
            given.fill_null(none),
            pl.col("title_raw").str.extract_all(_URL_FOUND).fill_null(none),
            pl.col("abstract_raw").str.extract_all(_URL_FOUND).fill_null(none),
        ]
    )
    # title_key and flags read the cleaned columns, hence a second (cheap) with_columns: Polars does not share
    # the (Python) repair step between expressions, so recomputing it inside one with_columns would double it.
    cleaned = raw.with_columns(
        title=normalized_title("title_raw"),
        abstract=normalized_abstract("abstract_raw"),
        authors=normalized_authors("authors"),
        authors_raw=pl.col("authors"),
        authors_truncated=authors_truncated("authors"),
        urls=found.map_batches(_links_of, return_dtype=pl.List(LINK)),
    )
    return cleaned.with_columns(title_key=title_key("title"), flags=_flags()).drop("authors_truncated")
