"""URLs: found in raw text and structured links, made canonical, classified (code, video, dataset...).

Plain Polars expressions, except that links are built once per distinct raw URL (the same URL turns up in many
records) inside one map_batches. No URL is fetched.
"""

from __future__ import annotations

import polars as pl

from flows.clean.rows import as_expr, named_like, rows_replaced
from schemas.tables import LINK_KINDS

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

LINK = pl.Struct({"url_raw": pl.String, "url": pl.String, "kind": pl.String, "host": pl.String})


def canonical_url(col: str | pl.Expr) -> pl.Expr:
    """Canonical form of a URL string (scheme and host lower-cased, glued junk removed); null if not a URL.

    Example: '"HTTPS://GitHub.com/InternLM/OREAL".' -> 'https://github.com/InternLM/OREAL'
    """
    url = (
        as_expr(col)
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
    return named_like(url.str.extract(f"({_URL_VALID}.*)", 1), col)


def url_host(url_col: str | pl.Expr) -> pl.Expr:
    """Lower-case host name of a URL, without user info or port (the real host: 'www.' is kept).

    Example: 'https://WWW.Example.com:8080/a' -> 'www.example.com'
    """
    return (
        as_expr(url_col)
        .str.extract(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#:]+)", 1)
        .str.to_lowercase()
    )


def url_kind(url_col: str | pl.Expr) -> pl.Expr:
    """Kind of a canonical URL: code / video / dataset / paper / project / other (null for null).

    Example: 'https://github.com/InternLM/OREAL' -> 'code'; 'https://youtu.be/gCuUyGETbTU' -> 'video'
    """
    url = as_expr(url_col)
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
        .pipe(named_like, url_col)
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
    return rows_replaced(links, needing, fixed)


# Joins a kind given by a structured source to its URL inside one string key (a URL holds no NUL), so that
# structured and found URLs travel in one list[str]: concatenating lists of structs is ~10x slower.
_GIVEN_KIND = "\x00"


def _link_lists(found: pl.Series) -> pl.Series:
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
    found = as_expr(col).str.extract_all(_URL_FOUND)
    return named_like(found.map_batches(_link_lists, return_dtype=pl.List(LINK)), col)


def record_urls() -> pl.Expr:
    """A record's links: its structured source_links first, then the URLs in title_raw and abstract_raw.

    One LINK per canonical URL; a structured link's kind comes from the source (githubRepo, projectPage) and
    wins a tie.
    """
    none = pl.lit([], dtype=pl.List(pl.String))
    link = pl.element().struct
    given = pl.col("source_links").list.eval(
        pl.concat_str([link.field("kind").fill_null(""), pl.lit(_GIVEN_KIND), link.field("url")])
    )
    found = pl.concat_list(
        [
            given.fill_null(none),
            pl.col("title_raw").str.extract_all(_URL_FOUND).fill_null(none),
            pl.col("abstract_raw").str.extract_all(_URL_FOUND).fill_null(none),
        ]
    )
    return found.map_batches(_link_lists, return_dtype=pl.List(LINK))
