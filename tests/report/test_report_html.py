"""The HTML report links every figure and table with relative paths and writes atomically."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from genodeep.report import Report


def test_report_links_resolve(tmp_path):
    fig_path = tmp_path / "elsewhere.png"
    plt.plot([0, 1], [1, 0])
    plt.savefig(fig_path)
    plt.close()
    rep = Report(tmp_path / "rep", "Test <report>")
    s = rep.section("Data & models")
    s.text("a < b").table(pd.DataFrame({"x": [1.5, 2.25]}), name="tab").image(fig_path, "a figure")
    index = rep.write()
    html = index.read_text()
    assert "Test &lt;report&gt;" in html and "a &lt; b" in html
    links = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert sorted(links) == ["figures/elsewhere.png", "tables/tab.tsv"]
    for link in links:
        assert (index.parent / link).exists()
    assert pd.read_csv(index.parent / "tables/tab.tsv", sep="\t")["x"].tolist() == [1.5, 2.25]
    assert 'href="#data-models"' in html
