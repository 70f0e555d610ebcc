"""Graph convolutions against a dense numpy reference; GCN and GraphExpressionModel behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genodeep.io.graph import graph_from_edges
from genodeep.models.gcn import GCN, GCNLayer, GraphExpressionModel
from genodeep.nn.graph import normalized_adjacency, propagate


def _random_graph(rng, n=9, m=14):
    names = [f"g{i}" for i in range(n)]
    edges = []
    for _ in range(m):
        i, j = rng.choice(n - 1, size=2, replace=False)  # node n-1 stays isolated
        edges.append((names[i], names[j], float(rng.uniform(0.1, 2.0))))
    return graph_from_edges(edges, nodes=names)


def _numpy_norm_adj(graph):
    n = graph.n_nodes
    a = np.zeros((n, n))
    for (i, j), w in zip(graph.edges, graph.weights.astype(np.float64)):
        a[i, j] = a[j, i] = w
    a += np.eye(n)
    d = np.abs(a).sum(1)
    return a / np.sqrt(d)[:, None] / np.sqrt(d)[None, :]


def test_gcn_layer_equals_dense_reference(rng):
    graph = _random_graph(rng)
    adj = normalized_adjacency(graph.adjacency(dtype=torch.float64))
    ref_adj = _numpy_norm_adj(graph)
    for f_in, f_out in ((5, 3), (3, 6)):  # both multiplication orders
        layer = GCNLayer(f_in, f_out).double()
        with torch.no_grad():
            layer.bias.normal_()
        w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        x = rng.standard_normal((graph.n_nodes, f_in))
        got = layer(torch.from_numpy(x), adj).detach().numpy()
        np.testing.assert_allclose(got, ref_adj @ x @ w + b, atol=1e-6, rtol=0)
        xb = rng.standard_normal((4, graph.n_nodes, f_in))
        got_b = layer(torch.from_numpy(xb), adj).detach().numpy()
        np.testing.assert_allclose(got_b, np.einsum("ij,bjf->bif", ref_adj, xb) @ w + b, atol=1e-6)
    # float32 agrees with the float64 reference too
    layer = GCNLayer(4, 2)
    x = rng.standard_normal((graph.n_nodes, 4)).astype(np.float32)
    got = layer(torch.from_numpy(x), normalized_adjacency(graph.adjacency())).detach().numpy()
    ref = ref_adj @ x.astype(np.float64) @ layer.weight.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_propagate_sparse_equals_dense_and_checks_shape(rng):
    graph = _random_graph(rng)
    a = normalized_adjacency(graph.adjacency())
    h = torch.randn(3, graph.n_nodes, 2)
    torch.testing.assert_close(propagate(a, h), a.to_dense() @ h)
    with pytest.raises(ValueError, match="one row per node"):
        propagate(a, torch.randn(graph.n_nodes + 1, 2))


def test_gcn_gradients_flow_through_the_sparse_product(rng):
    graph = _random_graph(rng)
    model = GCN(in_features=3, n_tasks=2, hidden=[4], dropout=0.0, graph=graph)
    x = torch.randn(graph.n_nodes, 3, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in model.parameters())
    assert model.output_shape() == (graph.n_nodes, 2) and model.hops == 2
    assert model.config["n_nodes"] == graph.n_nodes and "graph" not in model.config


def test_gcn_on_identity_graph_is_a_per_node_mlp():
    n = 6
    model = GCN(
        in_features=3, n_tasks=1, hidden=[5], dropout=0.0, graph=torch.eye(n), self_loops=False
    )
    x = torch.randn(n, 3)
    l1, l2 = model.layers
    expected = torch.relu(x @ l1.weight + l1.bias) @ l2.weight + l2.bias
    torch.testing.assert_close(model(x), expected)


def test_gcn_without_graph_says_how_to_give_one():
    model = GCN(in_features=2)
    with pytest.raises(ValueError, match="has no graph"):
        model(torch.randn(4, 2))
    with pytest.raises(ValueError, match="built for n_nodes=3"):
        GCN(in_features=2, n_nodes=3, graph=torch.eye(4))


def test_graph_travels_with_the_weights(tmp_path, rng):
    from genodeep.zoo import load, save_package

    graph = _random_graph(rng)
    model = GraphExpressionModel(
        n_genes=graph.n_nodes, n_tasks=3, gcn_hidden=[4], graph=graph
    ).eval()
    x = torch.rand(5, graph.n_nodes)
    pkg = load(save_package(model, tmp_path / "pkg"))
    torch.testing.assert_close(pkg.model(x), model(x))
    # a fresh model built from the config (no graph) takes the graph from the state dict
    fresh = GraphExpressionModel(**model.config)
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(fresh.eval()(x), model(x))
    gcn = GCN(in_features=2, graph=graph)
    other = GCN(in_features=2)
    other.load_state_dict(gcn.state_dict())
    assert other.n_nodes == graph.n_nodes
    torch.testing.assert_close(other.adjacency().to_dense(), gcn.adjacency().to_dense())


@pytest.mark.parametrize("pool", ["mean", "max", "mean+max"])
def test_pooled_expression_model_is_invariant_to_relabelling_genes(rng, pool):
    graph = _random_graph(rng)
    n = graph.n_nodes
    model = GraphExpressionModel(
        n_genes=n, n_tasks=2, gcn_hidden=[4, 3], pool=pool, graph=graph
    ).eval()
    perm = rng.permutation(n)
    inv = np.argsort(perm)
    # gene perm[k] becomes gene k
    edges = [(f"g{inv[i]}", f"g{inv[j]}", w) for (i, j), w in zip(graph.edges, graph.weights)]
    permuted = graph_from_edges(edges, nodes=[f"g{i}" for i in range(n)])
    twin = GraphExpressionModel(**model.config, graph=permuted).eval()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("adj_")}
    twin.load_state_dict(state, strict=False)
    x = torch.rand(4, n)
    torch.testing.assert_close(twin(x[:, perm]), model(x), atol=1e-5, rtol=1e-5)
    # flatten keeps gene identity: output shape (B, T) and a different input size is refused
    flat = GraphExpressionModel(n_genes=n, n_tasks=2, graph=graph)
    assert flat(x).shape == (4, 2)
    with pytest.raises(ValueError, match="genes"):
        flat(torch.rand(4, n + 1))


def test_expression_model_log1p_and_embed_shapes(rng):
    graph = _random_graph(rng)
    model = GraphExpressionModel(n_genes=graph.n_nodes, gcn_hidden=[6], log1p=True, graph=graph)
    counts = torch.poisson(torch.full((3, graph.n_nodes), 4.0))
    assert model.embed(counts).shape == (3, graph.n_nodes, 6)
    plain = GraphExpressionModel(**{**model.config, "log1p": False}, graph=graph)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(counts), plain(torch.log1p(counts)))
