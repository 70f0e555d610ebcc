"""Read what a function accepts from its signature: parameter defaults, type hints, and checks of
config values against those hints. Config sections and data loaders use these so that a config key is
exactly a keyword argument."""

from __future__ import annotations

import collections.abc as cabc
import inspect
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any


def parameters(
    func: Callable, *, exclude: Iterable[str] = (), skip_positional: int = 0
) -> dict[str, inspect.Parameter]:
    """Keyword parameters of ``func`` (or a class's constructor), without ``self``/``*args``/``**kw``.

    Parameters
    ----------
    func : callable or type
        The function whose arguments a config section fills.
    exclude : iterable of str
        Names supplied by genodeep itself (data tensors, out_dir, ...).
    skip_positional : int
        Number of leading positional parameters to leave out.
    """
    sig = inspect.signature(func)
    out: dict[str, inspect.Parameter] = {}
    seen_positional = 0
    exclude = set(exclude)
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if (
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and seen_positional < skip_positional
        ):
            seen_positional += 1
            continue
        if name in exclude:
            continue
        out[name] = p
    return out


def type_hints(func: Callable) -> dict[str, Any]:
    """Evaluated annotations of ``func`` (empty when they cannot be resolved)."""
    target = func.__init__ if isinstance(func, type) else func
    try:
        return typing.get_type_hints(target)
    except Exception:
        return {}


def type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(hint))
    if hint is os.PathLike or hint is Path:
        return "path"
    if origin in (list, tuple, cabc.Sequence, cabc.Iterable, cabc.Collection):
        return "list"
    if origin in (dict, cabc.Mapping):
        return "mapping"
    return getattr(hint, "__name__", str(hint))


def check_type(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits the annotation ``hint`` (unknown annotations accept anything)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if hint is type(None) or hint is None:
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(check_type(value, a) for a in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint in (os.PathLike, Path):
        return isinstance(value, (str, os.PathLike))
    if origin in (list, tuple, cabc.Sequence, cabc.Iterable, cabc.Collection) or hint in (
        list,
        tuple,
    ):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(check_type(v, a) for v, a in zip(value, args))
        inner = args[0] if args else Any
        return all(check_type(v, inner) for v in value)
    if origin in (dict, cabc.Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(check_type(k, args[0]) and check_type(v, args[1]) for k, v in value.items())
        return True
    return True  # classes YAML cannot express (torch.dtype, ...): let the function check it


def is_path_hint(hint: Any) -> bool:
    """Whether the annotation mentions a path type (``os.PathLike``/``Path``), at any depth."""
    if hint in (os.PathLike, Path):
        return True
    return any(is_path_hint(a) for a in typing.get_args(hint))


def plain(value: Any) -> Any:
    """Convert tuples/paths/numpy scalars to plain YAML types."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            return str(value)
    return value
