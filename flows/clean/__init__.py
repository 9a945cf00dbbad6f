"""Clean stage: raw records -> records with cleaned title/abstract/authors, a title key, URLs and flags.

Every public function returns a Polars expression (SPEC §6): string kernels run only on the rows a cheap scan
says need them, and Python runs per value only for pylatexenc / ftfy / html, once per distinct string or LaTeX
fragment (flows/parallel.py). It does no I/O, does not merge papers (identity is the pipeline's job), does not
detect language.

  text.py           titles and abstracts: the rules in order, the title key
  characters.py     mojibake, HTML entities and tags, invisible characters, whitespace, NFC
  latex.py          LaTeX fragments -> Unicode text (pylatexenc)
  half_stripped.py  half-stripped LaTeX (ARTcdotV, textsc{Foo}, Model^2)
  authors.py        author lists
  urls.py           URLs found, made canonical, classified
  flags.py          what cleaning noticed (FLAG_MEANINGS)
  records.py        clean_records: the columns above on a frame of raw records
  rows.py           running a rule on the rows a fast scan selects
"""

from flows.clean.authors import authors_truncated, normalized_authors
from flows.clean.characters import MOJIBAKE
from flows.clean.flags import FLAG_MEANINGS, flags
from flows.clean.half_stripped import STRIPPED_COMMANDS
from flows.clean.records import clean_records
from flows.clean.text import normalized_abstract, normalized_title, title_key
from flows.clean.urls import LINK, canonical_url, extracted_urls, record_urls, url_host, url_kind

__all__ = [
    "FLAG_MEANINGS",
    "LINK",
    "MOJIBAKE",
    "STRIPPED_COMMANDS",
    "authors_truncated",
    "canonical_url",
    "clean_records",
    "extracted_urls",
    "flags",
    "normalized_abstract",
    "normalized_authors",
    "normalized_title",
    "record_urls",
    "title_key",
    "url_host",
    "url_kind",
]
