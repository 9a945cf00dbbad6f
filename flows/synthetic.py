"""Synthetic corpus: N records in the seed's own format, made from the seed's real records with realistic noise.

For benchmarks only (SPEC §9): LaTeX in about 30 % of rows, URLs in about 50 %, papers repeated across digests,
a few non-English abstracts. Deterministic for a given N and seed. Writes files; never used by the pipeline.
"""

from __future__ import annotations

import random
from pathlib import Path

from flows.readers.base import decoded_text

HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
LATEX_TITLE = ["$\\alpha$-{w}", "{w} in $O(n^2)$", "\\textbf{{{w}}}", "Caf\\'e {w}", "{w}cdotX"]
LATEX_ABSTRACT = [
    " We improve accuracy by 3.{n}\\% over baselines.",
    " Our method, \\eg, the ``{w}'' variant, is simple.",
    " Samples are i.\\,i.\\,d and bounded by $\\epsilon={n}$.",
    " We call it \\emph{{{w}}} and study its ``partial updates'' as well.",
]
URL_ABSTRACT = [
    " Code is available at https://github.com/lab{n}/{w}.",
    " Project page: https://{w}{n}.github.io/.",
    " See the videos at https://youtu.be/vid{n}x (part 1).",
    " Data: https://huggingface.co/datasets/org{n}/{w}.",
]
FOREIGN = [
    "Wir stellen ein neues Verfahren für die Erzeugung von Videos vor, das auf Diffusionsmodellen beruht und "
    "die zeitliche Konsistenz der Bilder deutlich verbessert. Die Ergebnisse zeigen eine höhere Qualität.",
    "Nous proposons une nouvelle méthode pour l'apprentissage par renforcement qui utilise des modèles du monde "
    "et améliore nettement la performance des agents dans des environnements complexes.",
    "Proponemos un nuevo método de aprendizaje automático que mejora la generación de imágenes a partir de "
    "texto y reduce el coste computacional de los modelos de difusión de forma considerable.",
]


def seed_records(seed_path: Path) -> list[tuple[str, str]]:
    """(title, abstract) pairs of the seed, read with the seed's own layout."""
    text, _ = decoded_text(seed_path.read_bytes())
    lines = [ln for ln in text.split("\n") if ln.strip()][5:]
    return list(zip(lines[0::2], lines[1::2]))


def synthetic_corpus(seed_path: Path, out_dir: Path, n_records: int, per_file: int = 5000, seed: int = 7) -> int:
    """Write dumps holding n_records records in total to out_dir; returns the number of files written."""
    rng = random.Random(seed)
    base = seed_records(seed_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_papers = max(1, int(n_records * 0.85))  # ~15 % of sightings repeat an earlier paper
    written = 0
    for file_no, start in enumerate(range(0, n_records, per_file)):
        month, day = MONTHS[(file_no // 28) % 12], file_no % 28 + 1
        parts = [HEADER, f"{month} {day}\n\n"]
        for i in range(start, min(start + per_file, n_records)):
            paper = i if i < n_papers else rng.randrange(n_papers)
            parts.append(_record(base, paper) + "\n\n")
        (out_dir / f"{file_no:05d}_synthetic.txt").write_text("".join(parts).rstrip("\n") + "\n")
        written += 1
    return written


def _record(base: list[tuple[str, str]], paper: int) -> str:
    """One paper's title/abstract, identical every time the same paper number is drawn."""
    rng = random.Random(paper)
    title, abstract = base[paper % len(base)]
    word = rng.choice(["Scale", "Agents", "Motion", "Priors", "Tokens", "Worlds"])
    title = f"{title} {word} {paper}"
    if rng.random() < 0.30:
        title = rng.choice(LATEX_TITLE).format(w=title) if rng.random() < 0.3 else title
        abstract += rng.choice(LATEX_ABSTRACT).format(w=word.lower(), n=paper % 97)
    if rng.random() < 0.50:
        abstract += rng.choice(URL_ABSTRACT).format(w=word.lower(), n=paper)
    if rng.random() < 0.02:
        abstract = rng.choice(FOREIGN) + f" ({paper})"
    return f"{title}\n\n{abstract}"
