"""Half-stripped LaTeX: commands that lost their backslash (ARTcdotV, textsc{Foo}, Model^2) made text again.

A site that strips LaTeX from the titles it shows leaves these behind. Series in, Series out, Polars string
kernels only; intact LaTeX is flows/clean/latex.py's.
"""

from __future__ import annotations

import polars as pl

from flows.clean.characters import MARK
from flows.clean.latex import SUBSCRIPTS, SUPERSCRIPTS

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


def _alternation(names) -> str:
    return "|".join(sorted(names, key=len, reverse=True))


# Three-letter names (tau, chi, phi...) are left out between capitals: they are too common inside words for the
# scan to stay cheap, and too short to be told from an acronym (XchiY).
_BETWEEN_CAPITALS = [n for n in STRIPPED_COMMANDS if n != "eta" and len(n) >= 4]
_GLUED_LEFT = [*_WORD_COMMANDS, *(n for n in _GREEK_LOWER if len(n) >= 5)]
# (pattern, where the name is): every rule has the name in group 2, its neighbours in groups 1 and 3.
# A name already repaired sits between markers (MARK): no rule may take a marker for a neighbour.
_STRIPPED_RULES = [
    rf"([A-Z0-9])({_alternation(_BETWEEN_CAPITALS)})([A-Z0-9])",
    rf"(^|[^a-z\\{MARK}])({_alternation(_NON_WORD_COMMANDS)})([^a-z{MARK}]|$)",
    rf"([A-Z0-9])({_alternation(_GLUED_LEFT)})([^a-z{MARK}]|$)",
    rf"(^|[^A-Za-z\\{MARK}])({_alternation(_GREEK_LOWER)})([\^_])",
]
STRIPPED_COMMAND = "|".join(_STRIPPED_RULES)
# Font and text commands that lost their backslash but kept their braces: textsc{Foo}-Bench -> Foo-Bench.
COMMAND_BEFORE_BRACE = (
    r"(^|[^A-Za-z\\])(textsc|textbf|textit|texttt|textrm|textsf|textsl|textup|emph|underline|mathcal|mathbb|"
    r"mathbf|mathrm|mathsf|mathit|mathscr|mathfrak|boldsymbol|operatorname|text|sqrt|hat|tilde|bar|vec)"
    r"\{([^{}\\$]*)\}"
)
# A bare super/subscript after a letter, digit or bracket: Model^2, X^{3}Net, x_1 (snake_case is not one).
# Subscripts only on a one-letter base (x_1, H_2O), so identifiers such as "model_v2" are left alone.
BARE_SCRIPT = (
    r"[\p{L}\p{N})\]]\^(?:\{[0-9A-Za-z+\-=()]{1,12}\}|[0-9]{1,3}|[+\-])"
    r"|(?:^|[^\p{L}\p{N}_])\p{L}_(?:\{[0-9a-z+\-=()]{1,12}\}|[0-9]{1,2})"
)
HALF_STRIPPED = f"{STRIPPED_COMMAND}|{COMMAND_BEFORE_BRACE}|{BARE_SCRIPT}"
# Abstracts get the seed's rule only (a symbol name between capitals/digits: "we present ARTcdotV") and bare
# scripts: a kilobyte of prose per row makes the family's scans cost seconds per million abstracts, and the
# half-stripped family is a title defect (a site strips LaTeX from the titles it shows).
_ABSTRACT_STRIPPED_NAMES = {
    name: STRIPPED_COMMANDS[name]
    for name in ("cdot", "times", "rightarrow", "leftarrow", "leftrightarrow", "Rightarrow", "Leftarrow",
                 "approx", "leq", "geq", "neq")
}
ABSTRACT_STRIPPED = rf"([A-Z0-9])({_alternation(_ABSTRACT_STRIPPED_NAMES)})([A-Z0-9])"
# What any half-stripped repair needs, as scans Rust's regex runs at memory speed (the rules themselves have
# context groups it cannot skip ahead on): a ^, _ or {; a non-word command name; a longer name after a
# capital or digit. Checked on every row, so the rules run only on the few that pass. Three scans, not one:
# joined into one regex they cost five times as much (measured on 200k seed abstracts: 0.1 s vs 0.6 s).
HALF_STRIPPED_HINTS = (
    r"[\^_{]",
    f"(?:{_alternation(_NON_WORD_COMMANDS)})",
    f"[A-Z0-9](?:{_alternation(set(_BETWEEN_CAPITALS) | set(_GLUED_LEFT))})",
)


def may_hold_half_stripped(values: pl.Series) -> pl.Series:
    """Rows that may hold half-stripped LaTeX (HALF_STRIPPED_HINTS); one select, so the scans run in parallel."""
    text = pl.col("text")
    hints = pl.any_horizontal([text.str.contains(hint) for hint in HALF_STRIPPED_HINTS])
    return values.alias("text").to_frame().select(hints.fill_null(False)).to_series()


def stripped_commands_repaired(values: pl.Series) -> pl.Series:
    """Command names that lost their backslash, glued to the text, made symbols: ARTcdotV -> ART·V (see above)."""
    # Twice: replace_all does not overlap, so in "AcdotBcdotC" the B is taken by the first match.
    for _ in range(2):
        for rule in _STRIPPED_RULES:
            values = values.str.replace_all(rule, "${1}" + MARK + "${2}" + MARK + "${3}")
    return values.str.replace_many({f"{MARK}{name}{MARK}": sym for name, sym in STRIPPED_COMMANDS.items()})


def abstract_commands_repaired(values: pl.Series) -> pl.Series:
    """The seed's rule in abstracts: a symbol name between capitals/digits made a symbol (ARTcdotV -> ART·V)."""
    for _ in range(2):  # "AcdotBcdotC" overlaps
        values = values.str.replace_all(ABSTRACT_STRIPPED, "${1}" + MARK + "${2}" + MARK + "${3}")
    return values.str.replace_many({f"{MARK}{n}{MARK}": sym for n, sym in _ABSTRACT_STRIPPED_NAMES.items()})


def _bare_script_text(found: str) -> str:
    """'l^2' -> 'l²', 'X^{3}' -> 'X³', 'x_1' -> 'x₁'; left as it is when some character has no Unicode form."""
    at = found.index("^") if "^" in found else found.index("_")
    head, mark, body = found[:at], found[at], found[at + 1 :].removeprefix("{").removesuffix("}")
    table = SUPERSCRIPTS if mark == "^" else SUBSCRIPTS
    return head + "".join(table[c] for c in body) if all(c in table for c in body) else found


def bare_scripts_converted(values: pl.Series) -> pl.Series:
    """Bare ^/_ scripts (Model^2) made Unicode, each distinct one converted once."""
    # Up to three rounds: matches do not overlap, so in "x^2^3" the second script waits for the first.
    for _ in range(3):
        found = values.str.extract_all(BARE_SCRIPT).explode().drop_nulls().unique()
        converted = [_bare_script_text(f) for f in found.to_list()]
        if found.is_empty() or converted == found.to_list():
            break
        # Longest first: where several start at one position, replace_many(leftmost=True) takes the first listed.
        order = found.str.len_bytes().arg_sort(descending=True)
        values = values.str.replace_many(
            found.gather(order).to_list(), [converted[i] for i in order.to_list()], leftmost=True
        )
    return values
