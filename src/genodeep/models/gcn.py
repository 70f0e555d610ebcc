"""Graph convolutional networks (the review's Fig. 3): parameters shared across the nodes of a graph.

A graph convolution (Kipf & Welling 2017) mixes each node's features with its neighbours':

    H' = Â H W + b,        Â = D^-1/2 (A + I) D^-1/2

(:func:`genodeep.nn.graph.normalized_adjacency`), computed with a sparse matrix product. Two
models build on :class:`GCNLayer`:

- :class:`GCN` — node classification/regression: node features ``(n, F)`` (or a batch of feature sets
  over the same graph, ``(B, n, F)``) -> ``(n, T)`` outputs per node.
- :class:`GraphExpressionModel` — the graph-regularised model for expression data: a cell's expression
  vector ``(G,)`` is a one-feature signal on the gene graph; shared-weight graph convolutions run on
  every cell, the gene axis is pooled (or flattened) and an MLP predicts the cell state ``(T,)``.

The graph belongs to the model: it is given at construction (``graph=``, a
:class:`genodeep.io.graph.Graph`, anything with an ``adjacency()`` method, or an adjacency tensor; the
model never imports io) and kept, already normalised, in the buffers
``adj_indices`` (2, nnz) and ``adj_values`` (nnz,), so that it travels with the weights (model packages
rebuild it; loading weights resizes these buffers to the saved graph). ``forward(x, adjacency=...)``
can override it for one call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import SequenceModel, _int_list, _prob_list
from genodeep.nn.graph import as_normalized_adjacency, propagate
from genodeep.nn.layers import Activation, make_activation

__all__ = ["GCNLayer", "GCN", "GraphExpressionModel"]


class GCNLayer(nn.Module):
    """One graph convolution ``H' = Â H W + b`` (no activation).

    Parameters
    ----------
    in_features : int
        Features per node ``F``.
    out_features : int
        Output features per node ``F'``.
    bias : bool, default True

    Notes
    -----
    ``forward(h, adjacency)``: ``h`` (n, F) or (B, n, F); ``adjacency`` the normalised ``(n, n)``
    matrix (sparse or dense). Returns (n, F') or (B, n, F'). ``W`` is Glorot-initialised.
    The product is taken in the cheaper order (``Â (H W)`` when ``F' <= F``, else ``(Â H) W``); both
    are equal in exact arithmetic.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True) -> None:
        super().__init__()
        check_positive("in_features", in_features)
        check_positive("out_features", out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = nn.Parameter(torch.empty(self.in_features, self.out_features))
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None
        bound = math.sqrt(6.0 / (self.in_features + self.out_features))
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        if h.shape[-1] != self.in_features:
            raise ValueError(
                f"features had shape {tuple(h.shape)} while it should have had (..., n, {self.in_features})"
            )
        w = self.weight.to(h.dtype)
        if self.out_features <= self.in_features:
            out = propagate(adjacency, h @ w)
        else:
            out = propagate(adjacency, h) @ w
        if self.bias is not None:
            out = out + self.bias.to(h.dtype)
        return out

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class _GraphModel(SequenceModel):
    """Holds a normalised graph in resizable buffers (so it is saved and loaded with the weights)."""

    _GRAPH_BUFFERS = ("adj_indices", "adj_values")

    def _init_graph(
        self, graph: Any, n_nodes: int | None, *, self_loops: bool, normalize: bool
    ) -> int | None:
        self.register_buffer("adj_indices", torch.zeros((2, 0), dtype=torch.long))
        self.register_buffer("adj_values", torch.zeros(0, dtype=torch.float32))
        self._self_loops, self._normalize = bool(self_loops), bool(normalize)
        self.n_nodes = None if n_nodes is None else int(n_nodes)
        if graph is not None:
            self.set_graph(graph)
        return self.n_nodes

    def set_graph(self, graph: Any) -> None:
        """Store ``graph`` (Graph, adjacency tensor or array ``(n, n)``), normalised as configured.

        Parameters
        ----------
        graph : Graph, torch.Tensor or np.ndarray
            Its node count must equal ``n_nodes`` when the model was built with one.
        """
        a = as_normalized_adjacency(graph, self_loops=self._self_loops, normalize=self._normalize)
        n = int(a.shape[0])
        if self.n_nodes is not None and n != self.n_nodes:
            raise ValueError(
                f"graph has {n} nodes but this {type(self).__name__} was built for n_nodes={self.n_nodes}"
            )
        self.n_nodes = n
        if "n_nodes" in self.config:
            self.config["n_nodes"] = n
        dev = self.adj_values.device
        self.adj_indices = a.indices().to(dev)
        self.adj_values = a.values().float().to(dev)

    def adjacency(self) -> torch.Tensor:
        """The stored normalised adjacency as a coalesced sparse tensor ``(n, n)``."""
        if self.n_nodes is None or self.adj_values.numel() == 0:
            raise ValueError(
                f"{type(self).__name__} has no graph; pass graph= when building it, call "
                "set_graph(graph), or give forward(..., adjacency=...)"
            )
        n = self.n_nodes
        return torch.sparse_coo_tensor(
            self.adj_indices, self.adj_values, (n, n), is_coalesced=True, check_invariants=False
        )

    def _resolve_adjacency(
        self, adjacency: torch.Tensor | None, like: torch.Tensor
    ) -> torch.Tensor:
        a = self.adjacency() if adjacency is None else adjacency
        return a.to(like.device)

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors
    ):
        # the graph's size is data, not architecture: take the saved buffers' shapes
        for name in self._GRAPH_BUFFERS:
            key = prefix + name
            if key in state_dict:
                setattr(
                    self, name, torch.empty_like(state_dict[key], device=getattr(self, name).device)
                )
        if prefix + "adj_indices" in state_dict and state_dict[prefix + "adj_indices"].numel():
            n = int(state_dict[prefix + "adj_indices"].max()) + 1
            if self.n_nodes is None:
                self.n_nodes = n
                if "n_nodes" in self.config:
                    self.config["n_nodes"] = n
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing, unexpected, errors
        )


def _graph_config(loc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in loc.items() if k != "graph"}


class GCN(_GraphModel):
    """Graph convolutional network for node classification or regression (Kipf & Welling 2017).

    ``[dropout -> GCNLayer -> activation] * len(hidden) -> dropout -> GCNLayer(n_tasks)``.

    Parameters
    ----------
    in_features : int
        Input features per node ``F``.
    n_tasks : int, default 1
        Outputs per node ``T`` (logits or linear values).
    hidden : list of int, default (32,)
        Hidden features of each graph convolution before the output one (``[]``: one layer).
    activation : str, default "relu"
        Activation between layers.
    dropout : float, default 0.5
        Dropout on the input of every graph convolution.
    n_nodes : int, optional
        Number of graph nodes; taken from ``graph`` when omitted.
    self_loops : bool, default True
        Add ``I`` to the adjacency before normalising.
    normalize : bool, default True
        Use ``D^-1/2 (A + I) D^-1/2``; ``False`` uses the adjacency as given.
    graph : Graph, torch.Tensor or np.ndarray, optional
        The graph (not part of ``config``; stored in buffers, see the module docstring).

    Notes
    -----
    ``forward(x, adjacency=None)``: ``x`` (n, F) or (B, n, F) -> (n, T) or (B, n, T). An identity
    adjacency turns the model into a per-node MLP with the same layers (the graph-free control).
    """

    #: node features of one graph, one output row per node (transductive node tasks)
    input_kinds = ("graph_nodes",)

    def __init__(
        self,
        *,
        in_features: int = 1,
        n_tasks: int = 1,
        hidden: Sequence[int] = (32,),
        activation: Activation = "relu",
        dropout: float = 0.5,
        n_nodes: int | None = None,
        self_loops: bool = True,
        normalize: bool = True,
        graph: Any = None,
    ) -> None:
        super().__init__()
        self._store_config(_graph_config(locals()))
        check_positive("in_features", in_features)
        check_positive("n_tasks", n_tasks)
        hidden = _int_list("hidden", hidden) if len(hidden) else []
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.in_channels, self.input_length = int(n_tasks), int(in_features), None
        sizes = [int(in_features), *hidden, int(n_tasks)]
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout)
        self._init_graph(graph, n_nodes, self_loops=self_loops, normalize=normalize)

    @property
    def hops(self) -> int:
        """How many graph hops one output node sees (the number of graph convolutions)."""
        return len(self.layers)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor | None = None) -> torch.Tensor:
        """Node features ``(n, F)`` or ``(B, n, F)`` -> node outputs ``(n, T)`` or ``(B, n, T)``."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.in_channels:
            raise ValueError(
                f"x had shape {tuple(x.shape)} while it should have had (n, {self.in_channels}) or "
                f"(B, n, {self.in_channels})"
            )
        if not x.is_floating_point():
            x = x.float()
        a = self._resolve_adjacency(adjacency, x)
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(self.dropout(h), a)
            if i < len(self.layers) - 1:
                h = self.act(h)
        return h

    def output_shape(self, length: int | None = None) -> tuple[int, int]:
        """``(n_nodes, n_tasks)`` (``length`` is ignored)."""
        if self.n_nodes is None:
            raise ValueError("this GCN has no graph yet; its output shape is (n_nodes, n_tasks)")
        return (self.n_nodes, self.n_tasks)


class GraphExpressionModel(_GraphModel):
    """Graph-regularised model of expression profiles: cells x genes -> cell state.

    Each cell's expression vector is a signal on the gene graph (one feature per gene). Shared-weight
    graph convolutions turn it into ``H`` features per gene, the gene axis is pooled (or kept), and an
    MLP predicts the cell's state (e.g. cell type logits).

    ``x (B, G) -> (B, G, 1) -> [GCNLayer -> activation] * len(gcn_hidden) -> pool over genes ->
    [Linear -> activation -> dropout] * len(dense) -> Linear(n_tasks)``.

    Parameters
    ----------
    n_genes : int
        Number of genes ``G`` (graph nodes, columns of the input).
    n_tasks : int, default 1
        Outputs per cell.
    gcn_hidden : list of int, default (8,)
        Features per gene after each graph convolution.
    pool : {"flatten", "mean", "max", "mean+max"}, default "flatten"
        ``"flatten"`` keeps every gene's features (``G * H`` inputs to the MLP); the others pool over
        genes (``H`` or ``2H`` inputs) and make the output invariant to relabelling the genes.
    dense : list of int, default (64,)
        Hidden layer sizes of the MLP head.
    activation : str, default "relu"
    dropout : float, default 0.0
        Dropout in the MLP head.
    log1p : bool, default False
        Apply ``log(1 + x)`` to the input (for raw counts).
    self_loops, normalize : bool
        As in :class:`GCN`.
    graph : Graph, torch.Tensor or np.ndarray, optional
        The gene graph (nodes in the column order of ``x``); not part of ``config``.

    Notes
    -----
    ``forward(x, adjacency=None)``: ``x`` (B, G) -> (B, n_tasks).
    """

    #: samples whose columns are the graph's nodes, one output row per sample
    input_kinds = ("graph_features",)

    def __init__(
        self,
        *,
        n_genes: int = 1,
        n_tasks: int = 1,
        gcn_hidden: Sequence[int] = (8,),
        pool: Literal["flatten", "mean", "max", "mean+max"] = "flatten",
        dense: Sequence[int] = (64,),
        activation: Activation = "relu",
        dropout: float = 0.0,
        log1p: bool = False,
        self_loops: bool = True,
        normalize: bool = True,
        graph: Any = None,
    ) -> None:
        super().__init__()
        self._store_config(_graph_config(locals()))
        check_positive("n_genes", n_genes)
        check_positive("n_tasks", n_tasks)
        check_choice("pool", pool, ("flatten", "mean", "max", "mean+max"))
        gcn_hidden = _int_list("gcn_hidden", gcn_hidden)
        if not gcn_hidden:
            raise ValueError("gcn_hidden must list at least one graph convolution, got []")
        dense = _int_list("dense", dense) if len(dense) else []
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.in_channels, self.input_length = int(n_tasks), int(n_genes), int(n_genes)
        self.pool, self.log1p = pool, bool(log1p)
        sizes = [1, *gcn_hidden]
        self.gcn = nn.ModuleList(GCNLayer(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = make_activation(activation)
        h = gcn_hidden[-1]
        n_in = {"flatten": n_genes * h, "mean": h, "max": h, "mean+max": 2 * h}[pool]
        head: list[nn.Module] = []
        for size in dense:
            head += [nn.Linear(n_in, size), make_activation(activation)]
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            n_in = size
        head.append(nn.Linear(n_in, n_tasks))
        self.head = nn.Sequential(*head)
        self._init_graph(graph, n_genes, self_loops=self_loops, normalize=normalize)

    def embed(self, x: torch.Tensor, adjacency: torch.Tensor | None = None) -> torch.Tensor:
        """Per-gene features after the graph convolutions, ``(B, G) -> (B, G, H)``."""
        if x.ndim != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x had shape {tuple(x.shape)} while it should have had (cells, {self.in_channels} genes)"
            )
        if not x.is_floating_point():
            x = x.float()
        if self.log1p:
            x = torch.log1p(x)
        a = self._resolve_adjacency(adjacency, x)
        h = x.unsqueeze(-1)
        for layer in self.gcn:
            h = self.act(layer(h, a))
        return h

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor | None = None) -> torch.Tensor:
        """Expression ``(B, G)`` -> ``(B, n_tasks)`` outputs."""
        h = self.embed(x, adjacency)
        if self.pool == "flatten":
            z = h.flatten(1)
        elif self.pool == "mean":
            z = h.mean(1)
        elif self.pool == "max":
            z = h.amax(1)
        else:
            z = torch.cat([h.mean(1), h.amax(1)], dim=1)
        return self.head(z)

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)``."""
        return (self.n_tasks,)
