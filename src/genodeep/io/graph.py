"""Gene networks: read an edge list, match its names to a feature matrix, build the adjacency.

File format (TSV, CSV or whitespace-separated; gzip transparent)::

    # comment lines and blank lines are skipped
    source  target  [weight]  [sign]
    TP53    MDM2    0.9       -
    MDM2    CDKN1A  0.4       +

- ``source``/``target``: node (gene) names.
- ``weight`` (optional, ``weighted=True`` or auto-detected): a finite number; ``>= 0`` unless
  ``signed=True``.
- ``sign`` (optional, ``signed=True``): ``+``/``-``/``1``/``-1``/``+1``; it multiplies the weight (or
  stands alone when there is no weight column).
- A header line is optional: it is recognised when its first two fields are known column names
  (``source``, ``target``, ``from``, ``to``, ``gene1``, ``gene2``, ...) or when its weight field is not a
  number; pass ``header=True/False`` to decide explicitly.

Names are matched to ``nodes`` (a list of names, or anything with ``var_names`` such as an AnnData).
Edges naming an unknown gene are dropped and reported (a count and the first few names); no matching
edge at all is an error. Repeated edges keep their first occurrence (counted in ``Graph.n_duplicates``).

:meth:`Graph.adjacency` gives the weighted adjacency ``A`` as a sparse torch tensor. The symmetric
normalisation of graph convolutions, ``D^-1/2 (A + I) D^-1/2``, is tensor maths and lives in
:func:`genodeep.nn.graph.normalized_adjacency` (io sits below nn and does not import it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from genodeep._io_utils import open_text
from genodeep._progress import log
from genodeep._validate import InputFileError

__all__ = ["Graph", "read_graph", "graph_from_edges"]

_HEADER_NAMES = {
    "source",
    "target",
    "from",
    "to",
    "src",
    "dst",
    "gene1",
    "gene2",
    "gene_a",
    "gene_b",
    "genea",
    "geneb",
    "node1",
    "node2",
    "protein1",
    "protein2",
    "interactor_a",
    "interactor_b",
}
_SIGNS = {"+": 1.0, "-": -1.0, "1": 1.0, "+1": 1.0, "-1": -1.0}


@dataclass
class Graph:
    """A graph over named nodes, as an edge list.

    Attributes
    ----------
    nodes : list of str
        Node names, in the order of the feature matrix's columns (node ``i`` = ``nodes[i]``).
    edges : np.ndarray int64, shape (E, 2)
        ``(source, target)`` node indices, one row per kept edge.
    weights : np.ndarray float32, shape (E,)
        Edge weights (signed weights for a signed graph; 1 for an unweighted graph).
    directed : bool
        When false, each edge connects both ways (the adjacency is symmetric).
    unmatched : list of str
        Names in the file that are not among ``nodes`` (their edges were dropped).
    n_dropped : int
        Edges dropped because a name was unmatched.
    n_duplicates : int
        Repeated edges ignored (the first occurrence was kept).
    """

    nodes: list[str]
    edges: np.ndarray
    weights: np.ndarray
    directed: bool = False
    unmatched: list[str] = field(default_factory=list)
    n_dropped: int = 0
    n_duplicates: int = 0

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``n``."""
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        """Number of kept edges ``E`` (an undirected edge counts once)."""
        return int(self.edges.shape[0])

    def degree(self) -> np.ndarray:
        """Number of neighbours of each node (self-loops count once), shape ``(n,)``."""
        a = self.adjacency().coalesce()
        idx = a.indices()[0].numpy()
        return np.bincount(idx, minlength=self.n_nodes)

    def adjacency(self, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Sparse adjacency ``A`` (n, n): ``A[s, t] = w`` (and ``A[t, s] = w`` when undirected).

        Returns
        -------
        torch.Tensor, sparse COO, shape (n, n), coalesced
        """
        return _adjacency(self.edges, self.weights, self.n_nodes, self.directed, dtype)

    def to_dataframe(self):
        """The kept edges as a DataFrame with columns ``source``, ``target``, ``weight``."""
        import pandas as pd

        names = np.asarray(self.nodes, dtype=object)
        return pd.DataFrame(
            {
                "source": names[self.edges[:, 0]] if self.n_edges else [],
                "target": names[self.edges[:, 1]] if self.n_edges else [],
                "weight": self.weights,
            }
        )

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        extra = f", {len(self.unmatched)} unmatched names" if self.unmatched else ""
        return f"Graph({self.n_nodes} nodes, {self.n_edges} {kind} edges{extra})"


def _node_names(nodes: object) -> list[str] | None:
    if nodes is None:
        return None
    if hasattr(nodes, "var_names"):  # AnnData
        return [str(v) for v in nodes.var_names]
    if isinstance(nodes, (str, bytes)):
        raise TypeError(
            "nodes must be a list of node names or an AnnData (its var_names), got a single string "
            f"{nodes!r}"
        )
    try:
        names = [str(v) for v in nodes]  # type: ignore[union-attr]
    except TypeError as err:
        raise TypeError(
            f"nodes must be a list of node names or an AnnData, got {type(nodes).__name__}"
        ) from err
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dups = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
        raise ValueError(
            f"nodes must be unique; {len(dups)} repeated name(s), e.g. {dups[:5]}. Fix: make the "
            "feature matrix's gene names unique (e.g. AnnData.var_names_make_unique())"
        )
    if not names:
        raise ValueError("nodes is empty; give the feature matrix's gene names")
    return names


def _split(line: str, sep: str | None) -> list[str]:
    if sep is not None:
        return [f.strip() for f in line.split(sep)]
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_graph(
    path: str | os.PathLike,
    *,
    nodes: object = None,
    weighted: bool | None = None,
    signed: bool = False,
    directed: bool = False,
    header: bool | None = None,
    sep: str | None = None,
    case_sensitive: bool = True,
    verbose: bool = True,
) -> Graph:
    """Read a gene network from an edge list and match its names to ``nodes``.

    Parameters
    ----------
    path : path
        TSV/CSV/whitespace edge list (``.gz`` allowed): ``source target [weight] [sign]``.
    nodes : list of str, AnnData or None
        The feature matrix's node (gene) names, in column order; an AnnData gives its ``var_names``.
        ``None``: the nodes are the names in the file, in order of first appearance.
    weighted : bool or None, default None
        Read a weight column (third field). ``None``: weighted when the first data line has a
        numeric third field (and ``signed`` does not claim it).
    signed : bool, default False
        Read a sign column (the field after the weight, or the third field of an unweighted file), and
        allow negative weights.
    directed : bool, default False
        Keep edges one-way (the adjacency is then not symmetric).
    header : bool or None, default None
        Whether the first non-comment line is a header; ``None`` detects it.
    sep : str, optional
        Field separator; default: tab if the line has one, else comma, else whitespace.
    case_sensitive : bool, default True
        Match names exactly; ``False`` ignores case (e.g. ``Tp53`` matches ``TP53``).
    verbose : bool, default True
        Print a line reporting unmatched names.

    Returns
    -------
    Graph
        Nodes, kept edges ``(E, 2)`` and weights ``(E,)``, and what was dropped (``unmatched``,
        ``n_dropped``, ``n_duplicates``).

    Raises
    ------
    InputFileError
        A malformed line (too few fields, a non-numeric weight, a bad sign, a negative weight without
        ``signed=True``), with the file and line number; an empty file; or no edge whose two names
        are both among ``nodes``.
    """
    node_names = _node_names(nodes)
    path = os.fspath(path)
    rows: list[tuple[str, str, float, int]] = []
    first = True
    n_cols: int | None = None
    with open_text(path, "graph file") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = _split(line, sep)
            if first:
                first = False
                is_header = header
                if is_header is None:
                    is_header = _looks_like_header(fields, signed)
                if weighted is None:
                    weighted = _detect_weighted(fh_first=fields, signed=signed, header=is_header)
                n_cols = 2 + int(bool(weighted)) + int(signed)
                if is_header:
                    if len(fields) < n_cols:
                        raise InputFileError(
                            f"header has {len(fields)} fields but {n_cols} columns are expected "
                            f"(source, target{', weight' if weighted else ''}"
                            f"{', sign' if signed else ''})",
                            path=path,
                            line=lineno,
                            fix="check the weighted=/signed= arguments or the header",
                        )
                    continue
            rows.append(_parse_row(fields, int(n_cols or 2), bool(weighted), signed, path, lineno))
    if weighted is None and not rows:
        weighted = False
    if not rows:
        raise InputFileError(
            "no edges found (the file is empty or holds only comments/a header)",
            path=path,
            fix="give one edge per line: source<TAB>target[<TAB>weight]",
        )
    return _build_graph(rows, node_names, directed, case_sensitive, path, verbose)


def _looks_like_header(fields: list[str], signed: bool) -> bool:
    if (
        len(fields) >= 2
        and fields[0].lower() in _HEADER_NAMES
        and fields[1].lower() in _HEADER_NAMES
    ):
        return True
    if len(fields) >= 3 and not signed and not _is_number(fields[2]):
        return True
    if len(fields) >= 4 and not _is_number(fields[2]) and fields[3] not in _SIGNS:
        return True
    return False


def _detect_weighted(*, fh_first: list[str], signed: bool, header: bool) -> bool:
    # with a header the first line says nothing about the data; look at its column names instead
    if header:
        names = [f.lower() for f in fh_first]
        if signed:
            return len(names) >= 4
        return len(names) >= 3
    if signed:
        return len(fh_first) >= 4
    return len(fh_first) >= 3 and _is_number(fh_first[2])


def _parse_row(
    fields: list[str], n_cols: int, weighted: bool, signed: bool, path: str, lineno: int
) -> tuple[str, str, float, int]:
    if len(fields) < n_cols or any(not f for f in fields[:n_cols]):
        cols = "source, target" + (", weight" if weighted else "") + (", sign" if signed else "")
        raise InputFileError(
            f"expected {n_cols} fields ({cols}), found {len(fields)}: {' | '.join(fields)!r}",
            path=path,
            line=lineno,
            fix="give one edge per line with tab-, comma- or space-separated fields",
        )
    weight = 1.0
    if weighted:
        text = fields[2]
        try:
            weight = float(text)
        except ValueError:
            raise InputFileError(
                f"weight {text!r} is not a number",
                path=path,
                line=lineno,
                fix="write a number in the third column, or pass weighted=False",
            ) from None
        if not math.isfinite(weight):
            raise InputFileError(f"weight {text!r} is not finite", path=path, line=lineno)
        if weight < 0 and not signed:
            raise InputFileError(
                f"negative weight {weight} in an unsigned graph",
                path=path,
                line=lineno,
                fix="pass signed=True for signed networks, or use non-negative weights",
            )
    if signed:
        text = fields[3 if weighted else 2]
        if text not in _SIGNS:
            raise InputFileError(
                f"sign {text!r} is not one of {sorted(_SIGNS)}",
                path=path,
                line=lineno,
                fix="write + or - in the sign column",
            )
        weight = _SIGNS[text] * weight
    return fields[0], fields[1], weight, lineno


def _build_graph(
    rows: list[tuple[str, str, float, int]],
    node_names: list[str] | None,
    directed: bool,
    case_sensitive: bool,
    path: str,
    verbose: bool,
) -> Graph:
    if node_names is None:
        order: dict[str, int] = {}
        for s, t, _, _ in rows:
            order.setdefault(s, len(order))
            order.setdefault(t, len(order))
        node_names = list(order)
        index = dict(order)
        key = str
    else:
        key = str if case_sensitive else str.lower
        index = {}
        for i, n in enumerate(node_names):
            k = key(n)
            if k in index and not case_sensitive:
                raise ValueError(
                    f"nodes {node_names[index[k]]!r} and {n!r} are equal ignoring case; use "
                    "case_sensitive=True"
                )
            index[k] = i
    edges: list[tuple[int, int]] = []
    weights: list[float] = []
    unmatched: dict[str, None] = {}
    seen: set[tuple[int, int]] = set()
    n_dropped = n_dup = 0
    for s, t, w, _ in rows:
        i, j = index.get(key(s)), index.get(key(t))
        if i is None or j is None:
            if i is None:
                unmatched.setdefault(s)
            if j is None:
                unmatched.setdefault(t)
            n_dropped += 1
            continue
        pair = (i, j) if directed else (min(i, j), max(i, j))
        if pair in seen:
            n_dup += 1
            continue
        seen.add(pair)
        edges.append((i, j))
        weights.append(w)
    missing = list(unmatched)
    if not edges:
        hint = ""
        if case_sensitive and node_names is not None:
            lower = {n.lower() for n in node_names}
            if any(m.lower() in lower for m in missing):
                hint = "; some names match ignoring case: pass case_sensitive=False"
        raise InputFileError(
            f"none of the {len(rows)} edges has both names among the {len(node_names)} nodes "
            f"(file names e.g. {missing[:5]}; node names e.g. {node_names[:5]}){hint}",
            path=path,
            fix="use the same gene identifiers (symbols vs Ensembl IDs) in the network and the "
            "feature matrix",
        )
    if missing and verbose:
        log(
            f"{path}: {len(missing)} name(s) not among the {len(node_names)} nodes, "
            f"{n_dropped} of {len(rows)} edges dropped (e.g. {', '.join(missing[:5])})"
        )
    return Graph(
        nodes=list(node_names),
        edges=np.asarray(edges, dtype=np.int64).reshape(-1, 2),
        weights=np.asarray(weights, dtype=np.float32),
        directed=bool(directed),
        unmatched=missing,
        n_dropped=n_dropped,
        n_duplicates=n_dup,
    )


def graph_from_edges(
    edges: Sequence[tuple[str, str]] | Sequence[tuple[str, str, float]],
    *,
    nodes: object = None,
    directed: bool = False,
    case_sensitive: bool = True,
) -> Graph:
    """Build a :class:`Graph` from in-memory ``(source, target[, weight])`` name tuples.

    Parameters
    ----------
    edges : sequence of tuples
        ``(source, target)`` or ``(source, target, weight)``.
    nodes, directed, case_sensitive
        As in :func:`read_graph`.

    Returns
    -------
    Graph
    """
    rows = []
    for k, e in enumerate(edges):
        if len(e) not in (2, 3):
            raise ValueError(
                f"edges[{k}] must be (source, target) or (source, target, weight), got {e!r}"
            )
        w = float(e[2]) if len(e) == 3 else 1.0
        if not math.isfinite(w):
            raise ValueError(f"edges[{k}] has a non-finite weight {e[2]!r}")
        rows.append((str(e[0]), str(e[1]), w, k + 1))
    if not rows:
        raise ValueError("edges is empty; give at least one (source, target) pair")
    return _build_graph(rows, _node_names(nodes), directed, case_sensitive, "<edges>", False)


def _adjacency(
    edges: np.ndarray, weights: np.ndarray, n: int, directed: bool, dtype: torch.dtype
) -> torch.Tensor:
    e = torch.as_tensor(np.asarray(edges, dtype=np.int64).reshape(-1, 2))
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64))
    if not directed:
        off = e[:, 0] != e[:, 1]
        e = torch.cat([e, e[off].flip(1)])
        w = torch.cat([w, w[off]])
    a = torch.sparse_coo_tensor(e.T, w, (n, n), check_invariants=True).coalesce()
    return a.to(dtype)
