"""Opens a real validation report and the dataset card's plots in headless Chromium, offline, as people do.

Needs Debian's `chromium` (.ci/run installs it): when it is missing the tests skip, except under CI (CI=true),
where they fail. Set PAPERS_SCREENSHOTS=<dir> to keep the screenshots for a look.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from flows.card import card_plots, dataset_card
from flows.publish import write_report
from flows.validate import validate_version
from schemas.tables import PUBLISHED, polars_schema

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BLOCKED_RED = (0xB3, 0x26, 0x1E)  # .verdict.blocked in flows/report.py: proof that the inline CSS applied
DATE_BAR_BLUE = (0x3B, 0x6F, 0xB6)  # the digest-date bars of flows/card.py
LANGUAGE_BAR_GREEN = (0x2E, 0x8B, 0x6E)

# Headless, no sandbox (CI runs as root), no GPU, and no network: every host name resolves to nothing and any
# request that skipped the resolver would go to a proxy on a closed port.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is not installed (`apt-get install chromium`; .ci/run does it as root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}: CI must render the report in a real browser")
        pytest.skip(reason)
    return path


def _browse(chromium: str, page: Path, scratch: Path, *action: str) -> str:
    """Run Chromium once on a local file with a throw-away profile; returns its stdout."""
    scratch.mkdir(parents=True, exist_ok=True)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)}
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={scratch / 'profile'}", *action, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def dumped_dom(chromium: str, page: Path, scratch: Path) -> str:
    dom = _browse(chromium, page, scratch / "dom", "--dump-dom")
    assert dom.strip(), "Chromium dumped an empty DOM"
    return dom


def screenshot(chromium: str, page: Path, scratch: Path, name: str, size: str = "1280,2000") -> Path:
    keep = os.environ.get("PAPERS_SCREENSHOTS")
    target = Path(keep) / name if keep else scratch / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    _browse(chromium, page, scratch / "shot", f"--screenshot={target}", f"--window-size={size}")
    assert target.is_file() and target.stat().st_size > 0, f"no screenshot at {target}"
    return target


_HIDDEN = {"style", "script", "title"}
_INLINE = {"a", "b", "i", "span", "code", "strong", "em", "tspan"}


class Dom(HTMLParser):
    """Elements with their attributes, and the text a person sees (entities decoded, no CSS or script)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self._text: list[str] = []
        self._hidden = 0
        self.feed(markup)
        self.close()
        self.text = re.sub(r"\s+", " ", "".join(self._text))

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._hidden += tag in _HIDDEN
        self._gap(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._hidden -= tag in _HIDDEN
        self._gap(tag)

    def _gap(self, tag: str) -> None:
        # Table cells and blocks are visually apart; the serialised DOM has no whitespace between them.
        if tag not in _INLINE:
            self._text.append(" ")

    def handle_data(self, data):
        if not self._hidden:
            self._text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def _fetching_urls(dom: Dom) -> list[str]:
    """Every URL the page would load by itself (not links a person may click)."""
    loaders = {
        "link",
        "script",
        "img",
        "image",
        "use",
        "iframe",
        "frame",
        "embed",
        "object",
        "source",
        "audio",
        "video",
        "track",
        "input",
    }
    return [
        value
        for tag, attrs in dom.elements
        if tag in loaders
        for key, value in attrs.items()
        if key in {"src", "href", "xlink:href", "srcset", "data", "poster"} and value
    ]


# --- PNG: the standard library has no decoder, and the check needs only 8-bit RGB(A), so zlib does it -------


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, one bytes object per pixel) of a non-interlaced 8-bit RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) in {(8, 2, 0), (8, 6, 0)}, f"unsupported PNG layout {header}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, pixels = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, prev, bpp)
        pixels += [bytes(line[i : i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    """Undo one scanline's PNG filter in place (PNG spec §9.2)."""
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif kind == 2:
        line[:] = bytes((a + b) & 255 for a, b in zip(line, prev))
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(len(line)):
            a, c = (line[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
            b = prev[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        assert kind == 0, f"unknown PNG filter {kind}"


def assert_not_blank(
    path: Path, *, colour: tuple[int, int, int], min_pixels: int, min_colours: int = 40
) -> None:
    """The screenshot shows a rendered page: many colours (text is anti-aliased) and the given fill."""
    width, height, pixels = png_pixels(path)
    distinct = set(pixels)
    assert len(distinct) >= min_colours, f"{path}: only {len(distinct)} colours in {width}x{height}"
    filled = pixels.count(bytes(colour))
    assert filled >= min_pixels, (
        f"{path}: {filled} pixels of #{bytes(colour).hex()}, expected >= {min_pixels}"
    )


# --- a real report ----------------------------------------------------------------------------------------


DAY = dt.date(2025, 3, 13)


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(PUBLISHED[table]))


def _paper(paper_id: str, arxiv_id: str | None, title: str, language: str | None = "en") -> dict:
    return {
        "paper_id": paper_id,
        "arxiv_id": arxiv_id,
        "title": title,
        "title_raw": title,
        "abstract": "We study anecdotal evidence.",
        "abstract_raw": "We study anecdotal evidence.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.LG"],
        "language": language,
        "code_url": None,
        "project_url": None,
        "published_at": None,
        "comments": None,
        "journal_ref": None,
        "doi": None,
        "first_seen": DAY,
        "last_seen": DAY,
        "n_appearances": 1,
        "flags": [],
        "aliases": [],
    }


def _appearance(paper_id: str, position: int, day: dt.date = DAY) -> dict:
    return {
        "paper_id": paper_id,
        "digest_date": day,
        "digest_date_source": "header+filename",
        "source_format": "hf_papers_text",
        "source_path": "000_seed.txt",
        "source_sha256": "ab" * 32,
        "position": position,
        "line": 4 * position,
        "section": None,
    }


def report_tables() -> dict[str, pl.DataFrame]:
    """Three papers, one titled with a script tag (which must block), and a quarantined <img> record."""
    papers = [
        _paper("arxiv:2411.18673", "2411.18673", "ART·V: Auto-Regressive Text-to-Video"),
        _paper("arxiv:2502.00001", "2502.00001", SCRIPT),
        _paper("title:0123456789abcdef", None, "GUESS: GradUally Enriching SyntheSis", language="<b>"),
    ]
    appearances = [_appearance(p["paper_id"], i) for i, p in enumerate(papers, 1)]
    links = [
        {
            "paper_id": "arxiv:2411.18673",
            "url": "https://github.com/x/art",
            "kind": "code",
            "host": "github.com",
            "url_raw": "https://github.com/x/art.",
        }
    ]
    quarantine = [
        {
            "source_path": "000_seed.txt",
            "source_sha256": "ab" * 32,
            "location": "line 42",
            "reason": "no title",
            "raw_text": IMG,
        }
    ]
    return {
        "papers": _frame("papers", papers),
        "appearances": _frame("appearances", appearances),
        "links": _frame("links", links),
        "quarantine": _frame("quarantine", quarantine),
    }


CONTEXT = {
    "inputs": [
        {
            "path": "000_seed.txt",
            "sha256": "ab" * 32,
            "format": "hf_papers_text",
            "records": 3,
            "quarantined": 1,
        }
    ],
    "diff": {
        "added": 2,
        "removed": 0,
        "reidentified": 0,
        "changed": 1,
        "unchanged": 0,
        "changed_fields": {"title": 1},
    },
    "parent": "v1",
}


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    report_dir = tmp_path_factory.mktemp("v2") / "report"
    report = validate_version(report_tables(), version="v2", raw_records=4, parent=None, context=CONTEXT)
    assert report.success is False  # the script tag in a title is LaTeX/HTML residue: blocking
    return write_report(report_dir, report)


def test_report_shows_the_verdict_first_and_escaped_values_as_text(chromium, report_page, tmp_path):
    markup = dumped_dom(chromium, report_page, tmp_path)
    dom = Dom(markup)
    text = dom.text
    # The verdict is the first thing after the heading, and it says why.
    assert text.index("BLOCKED") < text.index("Reconciliation") < text.index("Expectations")
    verdict = text[text.index("BLOCKED") : text.index("Reconciliation")]
    assert "must not be published" in verdict and "papers.title" in verdict
    # The hostile title and raw text are shown as text, never as elements.
    assert SCRIPT in text and IMG in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert dom.tags("script") == [] and dom.tags("img") == [] and dom.tags("iframe") == []
    assert not any(k.startswith("on") for _, attrs in dom.elements for k in attrs)
    # Reconciliation, quarantine with reason and location, the diff and the inputs are all there.
    assert "raw records 4 = appearances 3 + quarantined 1 = 4" in text
    assert "line 42" in text and "no title" in text
    assert "Changes since the parent version v1" in text and "added 2" in text and "title 1" in text
    assert "000_seed.txt hf_papers_text 3 1 " + "ab" * 32 in text
    # Nothing is fetched from the network; the only links are http(s) or the Data Docs beside the page.
    assert [u for u in _fetching_urls(dom) if re.match(r"(?i)\s*(https?:)?//", u)] == []
    hrefs = [a["href"] for a in dom.tags("a")]
    assert "gx_data_docs/index.html" in hrefs and (report_page.parent / "gx_data_docs/index.html").is_file()
    assert all(
        re.match(r"https?://", h) or not re.match(r"[a-z][a-z0-9+.-]*:", h, re.IGNORECASE) for h in hrefs
    )


def test_report_screenshot_is_styled(chromium, report_page, tmp_path):
    shot = screenshot(chromium, report_page, tmp_path, "report.png")
    # The red verdict banner spans the page width: at least 1000 x 40 px of exactly its colour.
    assert_not_blank(shot, colour=BLOCKED_RED, min_pixels=40_000)


# --- the card's plots ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def card_dir(tmp_path_factory) -> Path:
    """A version directory holding README.md and its plots, written the way the pipeline writes them."""
    version = tmp_path_factory.mktemp("card") / "v2"
    version.mkdir()
    tables = report_tables()
    tables["appearances"] = pl.concat(
        [
            tables["appearances"],
            _frame("appearances", [_appearance("arxiv:2411.18673", 9, DAY.replace(day=14))]),
        ]
    )
    manifest = {
        "created_at": "2025-03-14T08:00:00+00:00",
        "parent": "v1",
        "schema_fingerprint": "0" * 64,
        "validation": {"success": True, "passed": 58, "evaluated": 58, "failed_warning": 0},
        "counts": {"raw_records": 5, "appearances": 4, "quarantined": 1},
        "inputs": CONTEXT["inputs"],
        "diff": {"summary": CONTEXT["diff"]},
    }
    (version / "README.md").write_text(dataset_card("v2", tables, manifest), encoding="utf-8")
    for name, svg in card_plots(tables).items():
        (version / name).parent.mkdir(parents=True, exist_ok=True)
        (version / name).write_text(svg, encoding="utf-8")
    return version


def test_plots_render_with_bars_and_escaped_labels(chromium, card_dir, tmp_path):
    dates, languages = card_dir / "plots/digest_dates.svg", card_dir / "plots/languages.svg"
    dom = Dom(dumped_dom(chromium, languages, tmp_path / "languages"))
    assert "Papers per language" in dom.text and "<b>" in dom.text and dom.tags("b") == []
    assert len([r for r in dom.tags("rect") if r.get("class") == "bar"]) == 2  # en, <b>
    dom = Dom(dumped_dom(chromium, dates, tmp_path / "dates"))
    assert "2025-03-13" in dom.text and "2025-03-14" in dom.text
    assert_not_blank(
        screenshot(chromium, dates, tmp_path / "dates", "digest_dates.png", "640,200"),
        colour=DATE_BAR_BLUE,
        min_pixels=2_000,
        min_colours=10,
    )
    assert_not_blank(
        screenshot(chromium, languages, tmp_path / "languages", "languages.png", "640,200"),
        colour=LANGUAGE_BAR_GREEN,
        min_pixels=2_000,
        min_colours=10,
    )


RECORD_LOADED_IMAGES = (
    "<script>addEventListener('load', () => document.body.dataset.loaded = [...document.images]"
    ".map(i => i.getAttribute('src') + '=' + i.naturalWidth).join(' '))</script>"
)


def test_card_image_links_resolve_in_a_browser(chromium, card_dir, tmp_path):
    card = (card_dir / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", card)
    assert images == ["plots/digest_dates.svg", "plots/languages.svg"]
    # A stand-in for a Markdown viewer: the card's images at their relative paths, and a script that records
    # whether each one loaded (naturalWidth is 0 for a missing or broken image).
    tags = "".join(f'<p><img src="{src}" alt=""></p>' for src in images)
    viewer = card_dir / "card_viewer.html"
    viewer.write_text(f"<!doctype html><html><body>{tags}{RECORD_LOADED_IMAGES}</body></html>")
    dom = Dom(dumped_dom(chromium, viewer, tmp_path))
    loaded = dict(item.split("=") for item in dom.tags("body")[0]["data-loaded"].split())
    assert set(loaded) == set(images) and all(int(w) > 0 for w in loaded.values()), loaded
    assert_not_blank(
        screenshot(chromium, viewer, tmp_path, "card_plots.png", "1280,600"),
        colour=DATE_BAR_BLUE,
        min_pixels=2_000,
        min_colours=10,
    )
