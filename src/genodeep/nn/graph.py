"""Tensor-level graph maths for graph convolutions: normalised adjacency and propagation.

The graph convolution of Kipf & Welling (2017) propagates node features with the symmetric
normalised adjacency ``Â = D^-1/2 (A + I) D^-1/2`` (:func:`normalized_adjacency`), a sparse torch
tensor; :func:`propagate` computes ``Â H``. For signed graphs the degree uses absolute weights,
``D_ii = sum_j |A_ij + I_ij|``. Graphs are read by :func:`genodeep.io.graph.read_graph`, whose
:class:`~genodeep.io.graph.Graph` gives ``A`` (:meth:`~genodeep.io.graph.Graph.adjacency`); nothing
here imports io.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["normalized_adjacency", "propagate", "as_normalized_adjacency"]


def normalized_adjacency(
    adjacency: torch.Tensor | np.ndarray, *, self_loops: bool = True
) -> torch.Tensor:
    """Symmetric normalised adjacency ``D^-1/2 (A + I) D^-1/2`` (Kipf & Welling 2017).

    Parameters
    ----------
    adjacency : torch.Tensor (sparse or dense) or np.ndarray, shape (n, n)
        Weighted adjacency ``A`` (e.g. :meth:`genodeep.io.graph.Graph.adjacency`).
    self_loops : bool, default True
        Add the identity before normalising (``False`` normalises ``A`` itself).

    Returns
    -------
    torch.Tensor, sparse COO (coalesced), shape (n, n), dtype of ``adjacency`` (float32 for numpy)
        ``Â[i, j] = Ã[i, j] / sqrt(d_i d_j)`` with ``Ã = A + I`` and ``d_i = sum_j |Ã[i, j]|``; rows of
        nodes with ``d_i = 0`` (isolated, no self-loop) are zero.
    """
    if isinstance(adjacency, np.ndarray):
        adjacency = torch.as_tensor(adjacency, dtype=torch.float32)
    if not isinstance(adjacency, torch.Tensor):
        raise TypeError(
            f"adjacency must be a torch tensor or numpy array, got {type(adjacency).__name__}"
        )
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(
            f"adjacency had shape {tuple(adjacency.shape)} while it should have had (n, n)"
        )
    if not adjacency.is_floating_point():
        adjacency = adjacency.float()
    a = adjacency.coalesce() if adjacency.is_sparse else adjacency.to_sparse().coalesce()
    n = a.shape[0]
    idx, val = a.indices(), a.values()
    if self_loops:
        eye = torch.arange(n, device=idx.device)
        idx = torch.cat([idx, torch.stack([eye, eye])], dim=1)
        val = torch.cat([val, torch.ones(n, dtype=val.dtype, device=val.device)])
        a = torch.sparse_coo_tensor(idx, val, (n, n), check_invariants=False).coalesce()
        idx, val = a.indices(), a.values()
    deg = torch.zeros(n, dtype=val.dtype, device=val.device).index_add_(0, idx[0], val.abs())
    inv = torch.where(
        deg > 0, deg.clamp_min(torch.finfo(val.dtype).tiny).rsqrt(), torch.zeros_like(deg)
    )
    norm = inv[idx[0]] * val * inv[idx[1]]
    return torch.sparse_coo_tensor(idx, norm, (n, n), check_invariants=False).coalesce()


def propagate(adjacency: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``Â h`` for node features ``h`` of shape ``(n, F)`` or ``(B, n, F)``.

    Parameters
    ----------
    adjacency : torch.Tensor, sparse COO or dense, shape (n, n)
    h : torch.Tensor, shape (n, F) or (B, n, F)

    Returns
    -------
    torch.Tensor, shape like ``h``
        ``out[..., i, f] = sum_j Â[i, j] h[..., j, f]``.
    """
    n = adjacency.shape[0]
    if h.shape[-2] != n:
        raise ValueError(
            f"features had shape {tuple(h.shape)} while it should have had (..., {n}, F): one row "
            f"per node of the {n}-node graph"
        )
    if adjacency.dtype != h.dtype:
        adjacency = adjacency.to(h.dtype)
    if not adjacency.is_sparse:
        return adjacency @ h
    if h.ndim == 2:
        return torch.sparse.mm(adjacency, h)
    if h.ndim != 3:
        raise ValueError(
            f"features had shape {tuple(h.shape)} while it should have had (n, F) or (B, n, F)"
        )
    b, _, f = h.shape
    flat = h.permute(1, 0, 2).reshape(n, b * f)
    return torch.sparse.mm(adjacency, flat).reshape(n, b, f).permute(1, 0, 2)


def as_normalized_adjacency(
    graph: Any, *, self_loops: bool = True, normalize: bool = True
) -> torch.Tensor:
    """A coalesced sparse ``(n, n)`` float32 adjacency from a Graph, a tensor or a numpy array.

    Parameters
    ----------
    graph : Graph, torch.Tensor (sparse or dense) or np.ndarray, shape (n, n)
        The graph; a :class:`~genodeep.io.graph.Graph` (or any object with an ``adjacency()`` method
        returning an ``(n, n)`` tensor) gives its (symmetric) weighted adjacency.
    self_loops : bool, default True
        Add ``I`` before normalising.
    normalize : bool, default True
        Return ``D^-1/2 (A + I) D^-1/2``; ``False`` uses the given matrix (plus ``I`` when
        ``self_loops``) as it is.

    Returns
    -------
    torch.Tensor, sparse COO, float32, shape (n, n)
    """
    if isinstance(graph, np.ndarray):
        a = torch.as_tensor(graph, dtype=torch.float32)
    elif isinstance(graph, torch.Tensor):
        a = graph
    elif callable(getattr(graph, "adjacency", None)):
        a = graph.adjacency()  # a genodeep.io.graph.Graph, or any object with .adjacency()
    else:
        raise TypeError(
            "graph must be a Graph (e.g. genodeep.io.graph.read_graph; anything with an "
            ".adjacency() method), a torch tensor or a numpy array (n, n), got "
            f"{type(graph).__name__}"
        )
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency had shape {tuple(a.shape)} while it should have had (n, n)")
    a = a.float()
    if normalize:
        return normalized_adjacency(a, self_loops=self_loops)
    a = a.coalesce() if a.is_sparse else a.to_sparse().coalesce()
    if self_loops:
        n = a.shape[0]
        eye = torch.sparse_coo_tensor(
            torch.arange(n).repeat(2, 1), torch.ones(n), (n, n), check_invariants=False
        )
        a = (a + eye).coalesce()
    return a
