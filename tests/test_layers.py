"""The house rules, checked on the source: imports only go down the layers, no cycles, imports at the top,
no file over 600 lines.

The layers are listed bottom to top in ``LAYERS`` (see docs/architecture.md). A module may import from its own
layer or the layers below it. The check reads the source with ``ast`` (nothing is imported), so it sees the
imports inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "genodeep"

#: bottom -> top; each entry is a layer: the top-level modules/packages of genodeep in it
LAYERS: list[tuple[str, ...]] = [
    (
        "_version",
        "_validate",
        "_io_utils",
        "_lazy",
        "_progress",
        "_device",
        "_batching",
        "_signature",
        "results",
        "example_data",
    ),  # fmt: skip
    ("seq",),
    ("io",),
    ("data",),
    ("nn",),
    ("models",),
    ("zoo",),
    ("train",),
    ("motifs",),
    ("interpret",),
    ("variants",),
    ("seqdesign",),
    ("sc",),
    ("report",),
    ("workflows",),
    ("cli",),
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}

#: packages whose files may import genodeep modules inside functions: the CLI keeps ``genodeep --help``
#: fast by importing a subcommand's workflow only when that subcommand runs.
LAZY_ALLOWED = ("cli",)

MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported genodeep module, line, at module top level) for every genodeep import of a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "genodeep":
                continue
            for alias in node.names:  # `from genodeep import example_data` imports a module
                sub = f"{node.module}.{alias.name}"
                target = sub if _is_module(sub) else node.module
                found.append((target, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "genodeep":
                    found.append((alias.name, node.lineno, id(node) in top))
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the top-level package itself
    return LAYER_OF.get(parts[1])


FILES = sorted(SRC.rglob("*.py"))
GRAPH = {_module_name(f): _imports(f) for f in FILES}


def test_every_module_has_a_layer():
    missing = sorted({m.split(".")[1] for m in GRAPH if "." in m and _layer(m) is None})
    assert not missing, f"add these top-level modules/packages to LAYERS: {missing}"


def test_imports_only_go_down():
    bad = []
    for module, imports in GRAPH.items():
        src = _layer(module)
        if src is None:
            continue
        for target, line, _ in imports:
            if target == "genodeep":
                bad.append(f"{module}:{line} imports the top-level genodeep package")
                continue
            dst = _layer(target)
            if dst is not None and dst > src:
                bad.append(
                    f"{module}:{line} -> {target} (layer {LAYERS[dst][0]} above {LAYERS[src][0]})"
                )
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_imports_at_the_top():
    bad = [
        f"{module}:{line} imports {target} inside a function or block"
        for module, imports in GRAPH.items()
        if module.split(".")[1:2] and module.split(".")[1] not in LAZY_ALLOWED
        for target, line, at_top in imports
        if not at_top
    ]
    assert not bad, "\n".join(bad)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_module_cycles():
    edges = {
        m: {t for t, _, _ in imps if t in GRAPH and t != m and not m.startswith(t + ".")}
        for m, imps in GRAPH.items()
    }
    # a package's __init__ re-exporting its own modules is not a cycle of the code
    for m in edges:
        edges[m] = {t for t in edges[m] if not (t.startswith(m + ".") and _is_package(m))}
    cycles = _cycles(edges)
    assert not cycles, "import cycles between modules:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_no_package_cycles():
    edges: dict[str, set[str]] = {}
    for m, imps in GRAPH.items():
        src = m.split(".")[1] if "." in m else None
        if src is None:
            continue
        for t, _, _ in imps:
            dst = t.split(".")[1] if "." in t else None
            if dst and dst != src:
                edges.setdefault(src, set()).add(dst)
    cycles = _cycles(edges)
    assert not cycles, "import cycles between packages:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def _is_package(module: str) -> bool:
    return (SRC / Path(*module.split(".")[1:]) / "__init__.py").exists()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_file_size(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, (
        f"{path.relative_to(SRC)} has {n} lines (limit {MAX_LINES}): split it by concern"
    )
