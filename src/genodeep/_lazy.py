"""Lazy attribute access for package namespaces, so ``import genodeep`` stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_getattr(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """Return a module ``__getattr__`` that imports ``names[attr]`` (a module path) on first use."""

    def __getattr__(attr: str) -> object:
        if attr in names:
            module = importlib.import_module(names[attr])
            value = getattr(module, attr)
            importlib.import_module(package).__dict__[attr] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    return __getattr__
