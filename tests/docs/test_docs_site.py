"""The documentation site built by ``make docs`` (``site/``): every page loads in headless Chromium, every
image decodes, no tutorial cell errored, and nothing is fetched from the network.

The site is built before the test suite in CI (``.ci/run``: ``make docs`` then ``make test``); these tests
skip with the reason when ``site/`` has not been built, and the browser test when Chromium is missing
(Debian's ``chromium`` package, which ``.ci/run`` installs).
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser import NO_CHROMIUM, chromium, run_check

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("GENODEEP_DOCS_SITE", ROOT / "site"))
TUTORIALS = ROOT / "docs" / "tutorials"

pytestmark = pytest.mark.skipif(
    not (SITE / "index.html").is_file(),
    reason=f"the documentation site is not built ({SITE}/index.html is missing); run `make docs`",
)

#: pages every build must have (generated reference pages and the tutorials included)
REQUIRED_PAGES = [
    "index.html",
    "getting-started.html",
    "architecture.html",
    "tutorials/index.html",
    "guide/formats.html",
    "guide/motifs.html",
    "reference/cli.html",
    "reference/config.html",
    "reference/package-format.html",
    "api/index.html",
    "api/genodeep.html",
]

_TRACEBACK = "Traceback (most recent call last)"


def _pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.html") if p.name != "404.html")


class _Refs(HTMLParser):
    """External and local resources of a page: scripts, stylesheets, images, links."""

    def __init__(self) -> None:
        super().__init__()
        self.resources: list[str] = []  # fetched when the page loads
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source") and a.get("src"):
            self.resources.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "preload", "icon"):
            self.resources.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _local(page: Path, ref: str) -> Path | None:
    """The file a relative reference of ``page`` points to; None for anchors, data: and mailto:."""
    ref = ref.split("#")[0].split("?")[0]
    if not ref or ref.startswith(("data:", "mailto:", "javascript:")):
        return None
    return (page.parent / ref).resolve()


def test_site_has_every_section():
    missing = [p for p in REQUIRED_PAGES if not (SITE / p).is_file()]
    assert not missing, f"pages missing from the built site: {missing}"
    notebooks = sorted(p.stem for p in TUTORIALS.glob("*.ipynb"))
    assert notebooks, "no tutorial notebooks in docs/tutorials"
    pages = [n for n in notebooks if not (SITE / "tutorials" / f"{n}.html").is_file()]
    assert not pages, f"tutorials without a page: {pages}"
    # the generated references cover what they promise
    cli = (SITE / "reference" / "cli.html").read_text()
    for command in (
        "genodeep train",
        "genodeep score-variants",
        "genodeep zoo import",
        "--database",
    ):
        assert command in cli, f"CLI reference lacks {command!r}"
    config = (SITE / "reference" / "config.html").read_text()
    for key in ("data-kind-fasta", "valid_fraction", "model-basset", "max_epochs", "pretrained"):
        assert key in config, f"config reference lacks {key!r}"
    package = (SITE / "reference" / "package-format.html").read_text()
    for name in ("config.json", "weights.safetensors", "data_spec.json", "checksums.sha256"):
        assert name in package
    api = (SITE / "api" / "genodeep.html").read_text()
    for name in ("one_hot", "train_from_config", "discover_motifs", "score_variants", "load"):
        assert f"gd.{name}" in api, f"API reference lacks gd.{name}"


def test_pages_fetch_nothing_from_the_network_and_links_resolve():
    external, broken = [], []
    for page in _pages():
        refs = _Refs()
        refs.feed(page.read_text(errors="replace"))
        for ref in refs.resources:
            if re.match(r"^(https?:)?//", ref):
                external.append(f"{page.relative_to(SITE)}: {ref}")
            else:
                target = _local(page, ref)
                if target is not None and not target.exists():
                    broken.append(f"{page.relative_to(SITE)}: {ref}")
        for ref in refs.links:
            if re.match(r"^[a-z]+:", ref) or ref.startswith("//"):
                continue  # external links are fine: nothing is fetched until clicked
            target = _local(page, ref)
            if target is not None and not target.exists():
                broken.append(f"{page.relative_to(SITE)}: link {ref}")
    assert not external, f"pages that load resources from the network: {external[:10]}"
    assert not broken, f"references to files that are not in the site: {broken[:10]}"


def test_tutorials_executed_without_errors():
    notebooks = sorted(TUTORIALS.glob("*.ipynb"))
    timings = SITE / "tutorials" / "execution.json"
    executed = json.loads(timings.read_text())["seconds"] if timings.is_file() else {}
    if not executed or any(v is None for v in executed.values()):
        pytest.skip("the site was built with GENODEEP_DOCS_EXECUTE=0 (tutorials not executed)")
    for nb in notebooks:
        html = (SITE / "tutorials" / f"{nb.stem}.html").read_text(errors="replace")
        assert _TRACEBACK not in html, f"{nb.name}: a cell of the built page shows a traceback"
        built = SITE / "tutorials" / nb.name
        assert built.is_file(), f"the executed copy of {nb.name} is not in the site"
        cells = [c for c in json.loads(built.read_text())["cells"] if c["cell_type"] == "code"]
        assert cells, nb.name
        errors = [
            o.get("ename", "")
            for c in cells
            for o in c.get("outputs", [])
            if o["output_type"] == "error"
        ]
        assert not errors, f"{nb.name}: cells with error outputs: {errors}"
        unrun = [i for i, c in enumerate(cells) if c.get("execution_count") is None]
        assert not unrun, f"{nb.name}: code cells never executed: {unrun}"
        images = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
        assert images >= 1, f"{nb.name}: no figure in the executed notebook"
        assert f"tutorials/{nb.name}" in executed


# --------------------------------------------------------------------------------------------------
# the browser

#: loads every page of the site in an iframe, one after the other, and reports what it found
_DRIVER = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" style="width:1200px;height:900px"></iframe>
<script>
var pages = __PAGES__;
var results = [];
var frame = document.getElementById('f');
function waitImages(doc, done, tries) {
  var imgs = Array.from(doc.images);
  var pending = imgs.filter(function (i) { return !i.complete; });
  if (pending.length && tries > 0) { setTimeout(function () { waitImages(doc, done, tries - 1); }, 100); return; }
  done(imgs);
}
function next(k) {
  if (k >= pages.length) {
    var pre = document.createElement('pre');
    pre.id = 'genodeep-check';
    pre.textContent = JSON.stringify(results);
    document.body.appendChild(pre);
    return;
  }
  frame.onload = function () {
    var doc = frame.contentDocument;
    if (!doc) { results.push({page: pages[k], ok: false, why: 'no document'}); next(k + 1); return; }
    waitImages(doc, function (imgs) {
      var main = doc.querySelector('.md-content');
      var outputs = Array.from(doc.querySelectorAll('.jp-OutputArea-output'));
      results.push({
        page: pages[k],
        ok: true,
        title: doc.title,
        text: main ? main.innerText.trim().length : 0,
        images: imgs.map(function (i) {
          return {src: i.getAttribute('src').slice(0, 120), ok: i.complete && i.naturalWidth > 0};
        }),
        tracebacks: outputs.filter(function (o) {
          return o.innerText.indexOf('Traceback (most recent call last)') >= 0;
        }).length,
        cells: doc.querySelectorAll('.jp-Cell').length
      });
      next(k + 1);
    }, 100);
  };
  frame.src = pages[k];
}
next(0);
</script></body></html>"""


@pytest.mark.skipif(chromium() is None, reason=NO_CHROMIUM)
def test_every_page_loads_in_headless_chromium(tmp_path):
    pages = [p.relative_to(SITE).as_posix() for p in _pages()]
    driver = SITE / "_docs_check.html"  # inside the site so that the pages are same-origin files
    driver.write_text(_DRIVER.replace("__PAGES__", json.dumps(pages)))
    try:
        results = run_check(driver, tmp_path, budget_ms=600000, timeout=600, file_access=True)
    finally:
        driver.unlink()
    assert [r["page"] for r in results] == pages, "Chromium did not visit every page"
    failed = [r["page"] for r in results if not r["ok"] or not r["title"] or r["text"] < 100]
    assert not failed, f"pages that did not load (or are empty) in the browser: {failed}"
    broken = [f"{r['page']}: {i['src']}" for r in results for i in r["images"] if not i["ok"]]
    assert not broken, f"images that do not decode in the browser: {broken}"
    errored = [r["page"] for r in results if r["tracebacks"]]
    assert not errored, f"tutorial pages with a cell that errored: {errored}"
    tutorials = [r for r in results if re.match(r"tutorials/\d+_.*\.html$", r["page"])]
    assert tutorials and all(r["cells"] > 0 for r in tutorials), "tutorial pages without cells"
    assert any(r["images"] for r in tutorials), "no tutorial page shows a figure"
