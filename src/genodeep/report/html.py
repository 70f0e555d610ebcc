"""A small HTML report builder: sections of text, tables and figures written to ``index.html``.

Figures and tables live as files beside ``index.html`` (PNG, TSV) and are linked with relative paths,
so the folder can be zipped, mailed and opened offline.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genodeep._io_utils import atomic_write
from genodeep._version import __version__

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #2a6f97;padding-bottom:.2em}h2{color:#2a6f97;margin-top:2em}
nav ol{columns:2}table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#eef4f8}
td:first-child,th:first-child{text-align:left}figure{margin:1em 0;display:inline-block;
vertical-align:top;max-width:100%}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}
.note{color:#555;font-size:.9em}
"""


@dataclass
class Section:
    """One titled part of a report; add blocks in the order they should appear."""

    title: str
    report: Report
    blocks: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def text(self, text: str) -> Section:
        """A paragraph of plain text (escaped)."""
        self.blocks.append(f"<p>{html.escape(text)}</p>")
        return self

    def note(self, text: str) -> Section:
        """A small grey paragraph (provenance, settings)."""
        self.blocks.append(f'<p class="note">{html.escape(text)}</p>')
        return self

    def code(self, text: str) -> Section:
        """A preformatted block, e.g. the command that reproduces this section."""
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(
        self,
        df: pd.DataFrame,
        *,
        name: str | None = None,
        floatfmt: str = "{:.3f}",
        index: bool = False,
    ) -> Section:
        """A table, also saved as ``tables/<name>.tsv`` and linked."""
        body = df.to_html(
            index=index, float_format=lambda v: floatfmt.format(v), border=0, na_rep="–"
        )
        link = ""
        if name:
            rel = Path("tables") / f"{name}.tsv"
            dest = self.report.out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(dest) as fh:
                df.to_csv(fh, sep="\t", index=index)
            link = f' <a href="{rel.as_posix()}">TSV</a>'
        self.blocks.append(body + (f'<p class="note">{link}</p>' if link else ""))
        return self

    def image(
        self, path: str | os.PathLike, caption: str = "", *, width: int | None = None
    ) -> Section:
        """A figure; files outside the report folder are copied into ``figures/``."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"report figure not found: {path}")
        out = self.report.out_dir.resolve()
        try:
            rel = path.resolve().relative_to(out)
        except ValueError:
            rel = Path("figures") / path.name
            (out / "figures").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / rel)
        style = f' style="width:{width}px"' if width else ""
        self.blocks.append(
            f'<figure><img src="{rel.as_posix()}" alt="{html.escape(caption or path.name)}"{style}>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def link(self, path: str | os.PathLike, label: str) -> Section:
        """A link to a file inside the report folder."""
        rel = Path(path).resolve().relative_to(self.report.out_dir.resolve())
        self.blocks.append(f'<p><a href="{rel.as_posix()}">{html.escape(label)}</a></p>')
        return self


class Report:
    """An HTML report in ``out_dir`` (``index.html`` + ``figures/`` + ``tables/``).

    Parameters
    ----------
    out_dir : path
        Folder to write into (created).
    title : str
        Page title.
    """

    def __init__(self, out_dir: str | os.PathLike, title: str) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.sections: list[Section] = []
        self.intro: list[str] = []

    @property
    def figures_dir(self) -> Path:
        """Folder where steps should save their figures."""
        p = self.out_dir / "figures"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def tables_dir(self) -> Path:
        p = self.out_dir / "tables"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def section(self, title: str) -> Section:
        """Start a new section."""
        s = Section(title, self)
        self.sections.append(s)
        return s

    def write(self) -> Path:
        """Write ``index.html`` atomically and return its path."""
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")

        toc = "".join(
            f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in self.sections
        )
        body = "".join(
            f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
            for s in self.sections
        )
        intro = "".join(f"<p>{html.escape(t)}</p>" for t in self.intro)
        page = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>{intro}"
            f'<p class="note">genodeep {__version__}, {stamp}</p><nav><ol>{toc}</ol></nav>{body}</body></html>'
        )
        path = self.out_dir / "index.html"
        with atomic_write(path) as fh:
            fh.write(page)
        return path
