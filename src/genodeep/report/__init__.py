"""Reports: one self-contained HTML page with figures and tables, readable offline."""

from __future__ import annotations

from genodeep.report.html import Report, Section

__all__ = ["Report", "Section"]
