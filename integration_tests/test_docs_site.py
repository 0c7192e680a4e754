"""The documentation site as a person sees it: built in strict mode, served on 127.0.0.1, opened in Chromium.

The site is built with ``mkdocs build --strict`` into a temporary folder, served by ``http.server`` on
loopback, and three pages (the home page, a framework page, an API reference page) are loaded in
headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it). A page fails when the rendered DOM
lacks its heading or its code blocks. ``RANKWISE_DOCS_SCREENSHOTS=<dir>`` keeps a screenshot of each;
``RANKWISE_DOCS_SITE=<dir>`` tests a site already built (with ``--strict``) instead of building one.
"""

from __future__ import annotations

import functools
import html
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.slow

# page -> (its h1, a text that must be inside one of its highlighted code blocks)
PAGES = {
    "": ("rankwise", "Reranker("),
    "pyterrier/": ("rankwise in PyTerrier", "RankwiseReranker("),
    "reference/core/": ("API reference: rankwise (core)", "Reranker("),
}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prebuilt = os.environ.get("RANKWISE_DOCS_SITE")  # a site already built with --strict (make test's docs step)
    if prebuilt:
        assert (Path(prebuilt) / "index.html").is_file(), f"RANKWISE_DOCS_SITE={prebuilt} holds no built site"
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_search_index_lists_every_package(site: Path) -> None:
    index = (site / "search" / "search_index.json").read_text()
    for name in ("RankwiseReranker", "RankwiseRerank", "RankwiseRanker", "rerank_span", "Reranker"):
        assert name in index, name


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_heading_and_code(server: str, page: str, tmp_path: Path) -> None:
    heading, code_text = PAGES[page]
    done = chromium("--virtual-time-budget=5000", "--dump-dom", server + page)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    h1s = [text_of(h).replace("¶", "").strip() for h in re.findall(r"<h1[^>]*>(.*?)</h1>", dom, flags=re.S)]
    assert heading in h1s, f"{page or 'home'}: h1 {h1s}"
    blocks = [text_of(b) for b in re.findall(r'<div class="[^"]*highlight[^"]*">(.*?)</div>', dom, flags=re.S)]
    assert blocks, f"{page or 'home'}: no highlighted code block in the rendered page"
    assert any(code_text in b for b in blocks), f"{page or 'home'}: no code block shows {code_text!r}"
    assert re.search(r'<span class="(?:k|n|nf|nc|kn|s[12]?)">', dom), "code blocks are not syntax-highlighted"
    assert 'class="md-search' in dom, "the Material theme's search box is missing"

    shots = Path(os.environ.get("RANKWISE_DOCS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{page.strip('/').replace('/', '-') or 'home'}.png"
    done = chromium("--window-size=1280,1400", "--hide-scrollbars", f"--screenshot={shot}", server + page)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "the screenshot is nearly empty: the page did not paint"
