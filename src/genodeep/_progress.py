"""Progress bars that honour ``verbose``/``--quiet`` in one place."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_QUIET = os.environ.get("GENODEEP_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) every progress bar of the package; the CLI's ``--quiet`` calls this."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    """Whether progress output is silenced."""
    return _QUIET


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str = "", verbose: bool = True
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr unless quiet or ``verbose`` is false."""
    if _QUIET or not verbose:
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(
        iterable, total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True
    )


def log(message: str) -> None:
    """Print a status line to stderr unless quiet."""
    if not _QUIET:
        print(message, file=sys.stderr, flush=True)
