"""The regular expressions the suite checks with and cleaning flags by (flows/clean/flags.py), written once.

Pure data: strings for Polars (Rust regex) and for GX's pandas engine (pyarrow's RE2), so each pattern must mean
the same in both and in Python's `re`. Nothing here compiles or runs a pattern.
"""

# Patterns avoid \d, \s and \w: pandas hands a pattern to pyarrow's RE2 (fast, vectorised) only when it means
# the same there as in Python's `re`, and falls back to a per-row Python loop otherwise (10x slower).
# Non-ASCII characters are written literally for the same reason (RE2 has no \u escapes).

# arXiv ids by era, so a float-mangled id (2503.02130 -> 2503.0213) fails: YYMM.NNNN for 0704-1412,
# YYMM.NNNNN from 1501, archive(.SC)/YYMMNNN before April 2007 (`\d{4}\.\d{4,5}` would accept 2503.0213).
_ARXIV = (
    r"(?:0[7-9]|1[0-4])(?:0[1-9]|1[0-2])\.[0-9]{4}"
    r"|(?:1[5-9]|[2-9][0-9])(?:0[1-9]|1[0-2])\.[0-9]{5}"
    r"|[a-z\-]+(?:\.[A-Z]{2})?/(?:9[1-9]|0[0-7])(?:0[1-9]|1[0-2])[0-9]{3}"
)
ARXIV_ID = rf"^(?:{_ARXIV})$"
PAPER_ID = rf"^(?:arxiv:(?:{_ARXIV})|title:[0-9a-f]{{16}})$"
# An HTML tag: a closed tag of an HTML element. Any name between angle brackets would take maths for markup:
# "k<n and n>m" is a title, not a tag <n>, and quarantining that paper would lose a real record.
HTML_ELEMENTS = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|big|blockquote|body|br|button|canvas|caption|center|"
    "cite|code|col|colgroup|data|dd|del|details|dfn|dialog|div|dl|dt|em|embed|fieldset|figcaption|figure|font|"
    "footer|form|frame|frameset|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|main|"
    "mark|math|meta|meter|nav|noscript|object|ol|optgroup|option|output|p|param|picture|pre|progress|q|rp|rt|ruby|"
    "s|samp|script|section|select|small|source|span|strike|strong|style|sub|summary|sup|svg|table|tbody|td|"
    "template|textarea|tfoot|th|thead|time|title|tr|track|tt|u|ul|var|video|wbr"
)
HTML_TAG = rf"</?(?i:{HTML_ELEMENTS})(?:[ \t\n/][^<>]*)?>"
# `cdot` only where it is glued into a word from outside (ARTcdotV, "A cdot B"): `anecdotal` must pass.
TITLE_RESIDUE = (
    r"[\\$]|(?:^|[^a-z])cdot|cdot(?:[^a-z]|$)"  # LaTeX
    rf"|&[a-zA-Z]+;|&#x?[0-9a-fA-F]+;|{HTML_TAG}"  # HTML entities and tags
)
INVISIBLE = "[\u00a0\u2007\u202f\u200b\u200c\u200d\u2060\ufeff]"
# TeX that cleaning could not turn into text (warnings; flows/clean/flags.py flags the same rows). Titles, beyond what
# the blocking TITLE_RESIDUE catches ($, backslash, glued cdot): a brace, a script group, or half-stripped LaTeX
# the repairs did not recognise (a command name before its braces, a non-word command name such as infty or
# rightarrow touching no lower-case letter).
_TEX_FONT_COMMANDS = (
    "textsc|textbf|textit|texttt|textrm|textsf|emph|mathcal|mathbb|mathbf|mathrm|mathsf|mathit|mathscr|"
    "mathfrak|boldsymbol|operatorname|frac|tfrac|dfrac|sqrt"
)
_TEX_NON_WORDS = (
    "ldots|infty|rightarrow|leftarrow|leftrightarrow|Rightarrow|Leftarrow|Leftrightarrow|longrightarrow|"
    "mapsto|leq|geq|neq|otimes|oplus|propto"
)
TITLE_TEX_RESIDUE = (
    r"[{}]|[\^_]\{"
    rf"|(?:^|[^A-Za-z])(?:{_TEX_FONT_COMMANDS})\{{"
    rf"|(?:^|[^a-z])(?:{_TEX_NON_WORDS})(?:[^a-z]|$)"
)
# Abstracts: a command word, a $...$ span (not a price: no digit right after the closing dollar), a dollar glued
# to a converted symbol, a script group, or a formatting command's name left as a word.
ABSTRACT_TEX_RESIDUE = (
    r"\\[A-Za-z]+"
    r"|\$[^$\s](?:[^$]*[^$\s])?\$(?:[^0-9]|$)"
    r"|[^\x00-\x7F]\$(?:[^0-9]|$)|\$[^\x00-\x7F$]"
    r"|[\^_]\{"
    # ASCII word boundaries: Unicode ones keep Rust's regex off its fast engine (seconds at a million abstracts).
    rf"|(?-u:\b)(?:{_TEX_FONT_COMMANDS}|newline|linebreak|vspace|hspace|noindent)(?-u:\b)"
)
# Labels of Hugging Face paper pages (buttons, section headings, counters) that a scraper may take for a title.
UI_LABEL_TITLE = (
    r"(?i)^\s*(?:"
    r"upvotes?|upvoted|share|copy link|cite|follow|subscribe|sign (?:in|up)|log ?in|submit(?: a paper)?|"
    r"collections?(?: including this paper)?|add to collection|community|comments?|discussion|"
    r"similar papers?|related papers?|recommended papers?|librarian bot|"
    r"(?:models?|datasets?|spaces?) citing this paper|cite arxiv\.org/abs/\S+ in a (?:model|dataset|space)\S*"
    r"|paper page|daily papers|trending(?: papers)?|papers|abstract|authors?|view (?:pdf|arxiv page)|"
    r"get trending papers in your email inbox!?|(?:see|show|load|view) (?:all|more)\b.*|new|previous|next|"
    r"\d[\d,.]*\s*(?:upvotes?|comments?|models?|datasets?|spaces?|collections?|authors?|papers?)"
    r")\s*$"
)
# Python's \s for URLs, spelled out: ASCII controls and space, DEL, the Unicode spaces (NBSP, em space...).
_SPACE = r"\x00-\x20\x7f" + "\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
URL = "^https?://[^" + _SPACE + '"<>{}]+$'
# A trailing `)` is glued punctuation only when the URL opens no `(` (wiki-style `Foo_(bar)` is fine).
URL_GLUED_PUNCTUATION = r"[.,]$|^[^(]*\)$"
LANGUAGE = r"^[a-z]{2}$"
