"""Shared input checks: one style of error message for the whole package.

Every user-facing error says *what* is wrong, *where* (file and line when there is one) and *how to
fix it*.  Readers raise :class:`InputFileError`; argument checks raise ``ValueError``/``TypeError``
through the helpers below.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class InputFileError(ValueError):
    """A problem with the content of an input file.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str or os.PathLike, optional
        The file.
    line : int, optional
        1-based line number of the offending record.
    fix : str, optional
        What the user should do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.fix = fix
        self.reason = message
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        text = where + message
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)


def near_matches(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Names in ``choices`` that look like ``name`` (e.g. ``2R`` vs ``chr2R``)."""
    choices = list(choices)
    out: list[str] = []
    stripped = {c: _strip_chr(c) for c in choices}
    for c, s in stripped.items():
        if s == _strip_chr(name) and c not in out:
            out.append(c)
    for c in difflib.get_close_matches(name, choices, n=n, cutoff=0.6):
        if c not in out:
            out.append(c)
    return out[:n]


def _strip_chr(name: str) -> str:
    low = name.lower()
    for prefix in ("chr", "chrom", "chromosome"):
        if low.startswith(prefix):
            return name[len(prefix) :]
    return name


def check_choice(argument: str, value: object, choices: Iterable[object]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{argument}={value!r} is not valid; choose one of: {valid}")


def check_positive(argument: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` > 0 (or >= 0 with ``allow_zero``)."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{argument} must be {rule}, got {value!r}")


def check_shape(argument: str, actual: tuple[int, ...], expected: tuple[int | None, ...]) -> None:
    """Raise ``ValueError`` unless ``actual`` matches ``expected`` (``None`` = any size)."""
    ok = len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))
    if not ok:
        exp = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{argument} had shape {tuple(actual)} while it should have had {exp}")


def check_file_exists(path: str | os.PathLike, what: str = "file") -> None:
    """Raise ``FileNotFoundError`` with a readable message when ``path`` is missing."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found: {os.fspath(path)}")
    if os.path.isdir(path) and what != "folder":
        raise IsADirectoryError(f"{what} is a folder, expected a file: {os.fspath(path)}")


def require(module: str, extra: str) -> object:
    """Import an optional dependency or raise ``ImportError`` with the install command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{module} is needed for this feature; install it with: pip install 'genodeep[{extra}]'"
        ) from err
