"""`genodeep demo --quick` end to end: every section has content and every linked image decodes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import matplotlib.image as mpimg
import pytest

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


@pytest.mark.slow
def test_quick_demo_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENODEEP_ZOO", str(tmp_path / "zoo"))
    out = tmp_path / "report"
    assert main(["-q", "demo", "--quick", "--out", str(out)]) == 0
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
    printed = capsys.readouterr().out
    assert "[data]" in printed and "[train]" in printed and re.search(r"report: .*index.html", printed)
    # the trained model went into the zoo and runs from there
    assert main(["zoo", "--root", str(tmp_path / "zoo"), "verify", "insulators-cnn"]) == 0
