"""`genodeep demo --quick` end to end: every section has content and every linked image decodes, checked
by parsing the HTML and by opening the report in headless Chromium (Debian's ``chromium`` package, which
``.ci/run`` installs; the browser test is skipped where it is missing)."""

from __future__ import annotations

import contextlib
import io
import re
from html.parser import HTMLParser

import matplotlib.image as mpimg
import pytest

from browser import NO_CHROMIUM, chromium, run_check
from genodeep.cli.__main__ import main


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, int] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self._current: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._current = a.get("id")
            self.sections[self._current] = 0
        elif self._current and tag in ("p", "table", "figure", "pre"):
            self.sections[self._current] += 1
        if tag == "img":
            self.images.append(a["src"])
        if tag == "a" and not a.get("href", "#").startswith("#"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "section":
            self._current = None


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """Run ``genodeep demo --quick`` once; (report folder, zoo folder, printed output)."""
    root = tmp_path_factory.mktemp("demo")
    out = root / "report"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENODEEP_ZOO", str(root / "zoo"))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["-q", "demo", "--quick", "--out", str(out)])
    assert code == 0
    return out, root / "zoo", buf.getvalue()


@pytest.mark.slow
def test_quick_demo_report(quick_report):
    out, zoo, printed = quick_report
    html = (out / "index.html").read_text()
    parser = _Sections()
    parser.feed(html)
    assert len(parser.sections) >= 6
    empty = [s for s, n in parser.sections.items() if n < 2]
    assert not empty, f"sections without content: {empty}"
    assert len(parser.images) >= 6
    for src in parser.images:
        img = mpimg.imread(out / src)  # decodes the PNG: a broken file raises
        assert img.shape[0] > 50 and img.shape[1] > 50
    for href in parser.links:
        assert (out / href).exists(), href
    assert (
        "[data]" in printed and "[train]" in printed and re.search(r"report: .*index.html", printed)
    )
    # the trained model went into the zoo and runs from there
    assert main(["zoo", "--root", str(zoo), "verify", "insulators-cnn"]) == 0


#: runs in the page once everything (images included) has loaded; leaves its findings in the DOM
_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var images = Array.from(document.images).map(function (i) {
    return {src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth};
  });
  var sections = Array.from(document.querySelectorAll('section')).map(function (s) {
    return {id: s.id, text: s.innerText.trim().length, blocks: s.querySelectorAll('p,table,figure,pre').length};
  });
  var pre = document.createElement('pre');
  pre.id = 'genodeep-check';
  pre.textContent = JSON.stringify({images: images, sections: sections});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason=NO_CHROMIUM)
def test_report_in_headless_chromium(quick_report, tmp_path):
    out, _, _ = quick_report
    html = (out / "index.html").read_text()
    assert "</body>" in html
    page = out / "_browser_check.html"  # beside index.html so relative image paths resolve
    page.write_text(html.replace("</body>", _CHECK_SCRIPT + "</body>", 1))
    try:
        report = run_check(page, tmp_path, budget_ms=10000, timeout=120)
    finally:
        page.unlink()
    assert len(report["images"]) >= 6
    broken = [i["src"] for i in report["images"] if not i["ok"]]
    assert not broken, f"images that do not load in the browser: {broken}"
    assert len(report["sections"]) >= 6
    empty = [s["id"] for s in report["sections"] if s["text"] < 40 or s["blocks"] < 2]
    assert not empty, f"sections without content in the browser: {empty}"
