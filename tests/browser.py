"""Headless Chromium for the tests that open genodeep's HTML outputs (the demo report, the docs site).

A page carries a check script that writes its findings as JSON into ``<pre id="genodeep-check">``; the test
loads the page with ``--dump-dom`` and reads that JSON back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

#: why a browser test is skipped where no Chromium can be had
NO_CHROMIUM = "headless Chromium is not installed (.ci/run installs it)"


def chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_check(
    page: Path, profile: Path, *, budget_ms: int, timeout: int, file_access: bool = False
):
    """Load ``page`` in headless Chromium and return the JSON its check script wrote."""
    flags = ["--allow-file-access-from-files"] if file_access else []
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            *flags,
            f"--user-data-dir={profile / 'profile'}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HOME": str(profile)},
    )
    found = re.search(r'<pre id="genodeep-check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"Chromium did not run the check (exit {proc.returncode}): {proc.stderr[-2000:]}"
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))
