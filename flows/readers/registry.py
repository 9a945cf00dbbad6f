"""The registered readers, in the order flows/extract.py sniffs them: the one place a format is added.

Each reader declares its own name (the source_format of what it gives) and its trust rank; flows/identity.py's
SOURCE_RANK is made from this list, so a reader renamed or added here is ranked as it says. Nothing runs on import
beyond building the reader objects.
"""

from __future__ import annotations

from flows.readers.arxiv_listing import ArxivEmail, ArxivListingText
from flows.readers.base import Reader
from flows.readers.feeds import ArxivFeed
from flows.readers.hf_html import HfPapersHtml
from flows.readers.hf_json import HfDailyJson
from flows.readers.hf_text import HfPapersText

# Sniffed in this order: the most specific formats first, the loosely-shaped text page last.
READERS: tuple[Reader, ...] = (
    HfDailyJson(),
    ArxivFeed(),
    HfPapersHtml(),
    ArxivEmail(),
    ArxivListingText(),
    HfPapersText(),
)


def source_ranks(readers: tuple[Reader, ...] = READERS) -> dict[str, int]:
    """{source_format: trust rank} of the registered readers (lower is trusted more).

    >>> source_ranks()["arxiv_feed"], source_ranks()["hf_papers_text"]
    (0, 3)
    """
    return {reader.name: reader.rank for reader in readers}
