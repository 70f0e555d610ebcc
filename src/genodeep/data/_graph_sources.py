"""Graph data sources: node tasks (transductive) and per-sample feature vectors over a gene network."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import InputFileError, check_choice, near_matches
from genodeep.data._sim_sources import check_wrapped_kwargs
from genodeep.data.bundle import (
    SPLITS,
    DataBundle,
    infer_kind,
    node_split,
    random_split,
    subset_split,
)
from genodeep.data.simulate import simulate_graph_labels
from genodeep.io.graph import read_graph


def _graph_bundle(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    graph: Any,
    task_names: Sequence[str],
    *,
    nodes: str,
    kind: str,
    valid_fraction: float,
    test_fraction: float,
    random_state: int | None,
) -> DataBundle:
    """Splits of graph data: random labelled nodes (``nodes="rows"``) or samples (``"columns"``)."""
    X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    labelled = np.flatnonzero(~np.isnan(y).all(axis=1))
    parts = random_split(len(labelled), valid_fraction, test_fraction, random_state)
    ids = pd.DataFrame({"name": [str(n) for n in names]})
    if kind == "auto":
        kind = infer_kind(y)
    if nodes == "rows":
        split = {k: node_split(X, y, ids, labelled[i]) for k, i in zip(SPLITS, parts)}
        model_args = {"in_features": int(X.shape[1]), "graph": graph}
        input_kind = "graph_nodes"
    else:
        split = {k: subset_split(X, y, ids, labelled[i]) for k, i in zip(SPLITS, parts)}
        model_args = {"n_genes": int(X.shape[1]), "graph": graph}
        input_kind = "graph_features"
    return DataBundle(
        **split,
        task_names=list(task_names),
        kind=kind,
        input_length=None,
        input_kind=input_kind,
        inputs=("features",),
        model_args=model_args,
    )


def _read_table(path: str | os.PathLike, what: str) -> pd.DataFrame:
    """A TSV/CSV table whose first column holds the row names (separator sniffed)."""

    try:
        df = pd.read_csv(path, sep=None, engine="python", index_col=0)
    except (ValueError, pd.errors.ParserError) as err:
        raise InputFileError(
            f"could not read the {what} table ({err})",
            path=path,
            fix="write a tab- or comma-separated table with a header and the names in the first column",
        ) from None
    if df.empty:
        raise InputFileError(f"the {what} table has no rows or no columns", path=path)
    df.index = df.index.astype(str)
    return df


def _read_graph_features(path: str | os.PathLike):
    """``(matrix (R, C) float32, row names, column names, obs table or None)`` of a features file."""

    if os.fspath(path).endswith(".h5ad"):
        import anndata

        adata = anndata.read_h5ad(path)
        X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
        return (
            np.asarray(X, dtype=np.float32),
            [str(v) for v in adata.obs_names],
            [str(v) for v in adata.var_names],
            adata.obs,
        )
    df = _read_table(path, "features")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise InputFileError(
            f"feature column(s) {bad[:5]} are not numeric",
            path=path,
            fix="keep the names in the first column and only numbers in the others",
        )
    return df.to_numpy(np.float32), list(df.index), [str(c) for c in df.columns], None


def _label_matrix(table: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; a text column becomes one 0/1 task per category."""
    cols, names = [], []
    for c in table.columns:
        v = table[c]
        if pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v):
            cols.append(v.to_numpy(np.float32))
            names.append(str(c))
            continue
        cats = sorted(str(x) for x in v.dropna().unique())
        for cat in cats:
            col = (v.astype(str) == cat).to_numpy(np.float32)
            col[v.isna().to_numpy()] = np.nan
            cols.append(col)
            names.append(cat if table.shape[1] == 1 else f"{c}={cat}")
    return np.stack(cols, axis=1), names


def _match_names(table: pd.DataFrame, names: Sequence[str], path, what: str) -> np.ndarray:
    """Rows of ``table`` (indexed by name) aligned to ``names`` (NaN where a name has no row).

    Names of the table that are not among ``names`` are reported (count, examples, near matches);
    none matching at all is an :class:`~genodeep._validate.InputFileError`.
    """

    values, task_names = _label_matrix(table)
    index = {n: i for i, n in enumerate(names)}
    out = np.full((len(names), values.shape[1]), np.nan, dtype=np.float32)
    unmatched = []
    for r, name in enumerate(table.index):
        i = index.get(name)
        if i is None:
            unmatched.append(name)
        else:
            out[i] = values[r]
    examples = []
    lower = {str(n).lower(): n for n in names}
    for name in unmatched[:5]:
        close = near_matches(name, names, n=1) or (
            [lower[name.lower()]] if name.lower() in lower else []
        )
        examples.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if len(unmatched) == len(table):
        raise InputFileError(
            f"none of the {len(table)} names in the first column is among the {len(names)} {what} "
            f"of the features (label names e.g. {', '.join(examples)}; {what} e.g. "
            f"{list(names)[:5]})",
            path=path,
            fix=f"use the same identifiers for the {what} in the labels and the features files",
        )
    if unmatched:
        log(
            f"{path}: {len(unmatched)} of {len(table)} names are not among the {what} of the "
            f"features and were ignored (e.g. {', '.join(examples)})"
        )
    return out, task_names


def load_graph_data(
    edges: str | os.PathLike,
    *,
    features: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    label_key: str | None = None,
    nodes: Literal["rows", "columns"] = "rows",
    weighted: bool | None = None,
    directed: bool = False,
    case_sensitive: bool = True,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    label_kind: Literal["auto", "binary", "regression"] = "auto",
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """A graph from an edge list, features and labels from tables: node tasks or graph-feature samples.

    Parameters
    ----------
    edges : path
        Edge list ``source target [weight]`` (see :func:`genodeep.io.graph.read_graph`); names are
        matched to the feature file's row (``nodes="rows"``) or column (``"columns"``) names, and
        unmatched names are reported.
    features : path
        TSV/CSV table with the row names in the first column, or an ``.h5ad`` (rows = ``obs_names``,
        columns = ``var_names``).
    labels : path, optional
        TSV/CSV table: row names in the first column, one label column per task (numbers; a text
        column becomes one 0/1 task per category). Rows without labels are left out of every split.
    label_key : str, optional
        Instead of ``labels``: a column of an ``.h5ad``'s ``obs``.
    nodes : {"rows", "columns"}
        ``"rows"``: the rows are the graph's nodes; transductive node classification/regression
        (model ``gcn``): the whole graph is the input, random labelled nodes are held out.
        ``"columns"``: the columns are the nodes (genes) and each row a sample (cell) with its own
        label (model ``graph_expression``); random samples are held out.
    weighted, directed, case_sensitive
        See :func:`genodeep.io.graph.read_graph`.
    valid_fraction, test_fraction : float
        Fractions of the labelled nodes/samples held out.
    label_kind : {"auto", "binary", "regression"}
        "auto": binary when every label is 0, 1 or NaN.
    random_state : int, optional
        Seed of the split.

    Returns
    -------
    DataBundle
        ``ids`` column ``name``; ``model_args`` holds the graph (handed to the model).
    """

    check_choice("nodes", nodes, ("rows", "columns"))
    if (labels is None) == (label_key is None):
        raise ValueError(
            "give exactly one of labels= (a table of labels per name) or label_key= (an obs "
            "column of an .h5ad features file)"
        )
    X, row_names, col_names, obs = _read_graph_features(features)
    if label_key is not None:
        if obs is None:
            raise ValueError(
                f"label_key={label_key!r} needs an .h5ad features file; got {features}"
            )
        if label_key not in obs.columns:
            raise ValueError(
                f"label_key={label_key!r} is not a column of {features}'s obs; columns: "
                f"{', '.join(map(str, obs.columns))}"
            )
        table = obs[[label_key]].copy()
        table.index = table.index.astype(str)
        source = f"{features} (obs[{label_key!r}])"
    else:
        table, source = _read_table(labels, "labels"), labels
    graph = read_graph(
        edges,
        nodes=row_names if nodes == "rows" else col_names,
        weighted=weighted,
        directed=directed,
        case_sensitive=case_sensitive,
        verbose=True,
    )
    what = "nodes" if nodes == "rows" else "samples"
    y, task_names = _match_names(table, row_names, source, what)
    bundle = _graph_bundle(
        X, y, row_names, graph, task_names, nodes=nodes, kind=label_kind,
        valid_fraction=valid_fraction, test_fraction=test_fraction, random_state=random_state,
    )  # fmt: skip
    if verbose:
        log(
            f"graph: {graph.n_nodes} nodes, {graph.n_edges} edges; "
            + ", ".join(f"{k} {len(bundle.split(k))}" for k in SPLITS)
        )
    return bundle


def load_simulated_graph_data(
    *,
    valid_fraction: float = 0.2,
    test_fraction: float = 0.5,
    random_state: int | None = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> DataBundle:
    """A random graph whose node labels are the neighbours' majority state
    (:func:`genodeep.data.simulate.simulate_graph_labels`); a transductive node task.

    Parameters
    ----------
    valid_fraction, test_fraction : float
        Fractions of the nodes whose labels are held out.
    random_state : int, optional
        Seed of the simulation and the split.
    **kwargs
        Arguments of the simulator: ``n_nodes``, ``avg_degree``, ``n_features``, ``signal``,
        ``noise``.

    Returns
    -------
    DataBundle
        Node features ``(n, F)`` as ``X``, one binary task ``"label"``; ``model_args`` holds the graph.
    """

    check_wrapped_kwargs(simulate_graph_labels, kwargs, "simulate_graph_labels", ("random_state",))
    sim = simulate_graph_labels(random_state=random_state, **kwargs)
    bundle = _graph_bundle(
        sim.features.numpy(), sim.y.numpy(), sim.graph.nodes, sim.graph, ["label"], nodes="rows",
        kind="binary", valid_fraction=valid_fraction, test_fraction=test_fraction,
        random_state=random_state,
    )  # fmt: skip
    if verbose:
        log(
            f"simulated graph: {sim.graph.n_nodes} nodes, {sim.graph.n_edges} edges; "
            + ", ".join(f"{k} {len(bundle.split(k))}" for k in SPLITS)
        )
    return bundle
