"""Gene-network reader and the normalised adjacency."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from genodeep._validate import InputFileError
from genodeep.io.graph import graph_from_edges, read_graph
from genodeep.nn.graph import normalized_adjacency


def _write(path, text):
    path.write_text(text)
    return path


def _dense_reference(edges, weights, n, self_loops=True):
    """D^-1/2 (A + I) D^-1/2 with numpy, undirected, degree from absolute values."""
    a = np.zeros((n, n))
    for (i, j), w in zip(edges, weights):
        a[i, j] = w
        a[j, i] = w
    if self_loops:
        a = a + np.eye(n)
    d = np.abs(a).sum(1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0.0)
    return inv[:, None] * a * inv[None, :]


def test_weighted_tsv_with_header_matches_nodes_and_reports_unmatched(tmp_path, capsys):
    path = _write(
        tmp_path / "net.tsv",
        "# a comment\nsource\ttarget\tweight\nTP53\tMDM2\t0.9\nMDM2\tCDKN1A\t0.4\nTP53\tFOO1\t1.0\n"
        "BAR2\tFOO1\t2\n\nTP53\tCDKN1A\t0.5\n",
    )
    g = read_graph(path, nodes=["CDKN1A", "MDM2", "TP53", "EGFR"])
    assert g.nodes == ["CDKN1A", "MDM2", "TP53", "EGFR"]
    assert g.n_edges == 3 and g.n_dropped == 2
    assert g.unmatched == ["FOO1", "BAR2"]
    np.testing.assert_array_equal(g.edges, [[2, 1], [1, 0], [2, 0]])
    np.testing.assert_allclose(g.weights, [0.9, 0.4, 0.5])
    err = capsys.readouterr().err
    assert (
        "2 name(s) not among the 4 nodes" in err and "2 of 5 edges dropped" in err and "FOO1" in err
    )
    a = g.adjacency().to_dense().numpy()
    np.testing.assert_allclose(a, a.T)
    assert a[2, 1] == pytest.approx(0.9) and a[3].sum() == 0  # EGFR isolated
    np.testing.assert_array_equal(g.degree(), [2, 2, 2, 0])


def test_csv_without_header_unweighted_nodes_from_file(tmp_path):
    path = _write(tmp_path / "net.csv", "a1,b1\nb1,c1\nc1,a1\nc1,a1\nb1,a1\n")
    g = read_graph(path)
    assert g.nodes == ["a1", "b1", "c1"]
    assert g.n_edges == 3 and g.n_duplicates == 2  # c1-a1 again, b1-a1 = a1-b1 (undirected)
    np.testing.assert_array_equal(g.weights, 1.0)


def test_directed_keeps_both_directions_and_an_asymmetric_adjacency(tmp_path):
    path = _write(tmp_path / "net.txt", "x y\ny x\nx z\n")
    g = read_graph(path, directed=True)
    assert g.n_edges == 3 and g.n_duplicates == 0
    a = g.adjacency().to_dense().numpy()
    assert a[0, 2] == 1 and a[2, 0] == 0


def test_signed_columns_multiply_weights(tmp_path):
    path = _write(tmp_path / "s.tsv", "g1\tg2\t0.5\t-\ng2\tg3\t2\t+\n")
    g = read_graph(path, signed=True)
    np.testing.assert_allclose(g.weights, [-0.5, 2.0])
    path2 = _write(tmp_path / "s2.tsv", "g1\tg2\t-1\ng2\tg3\t+\n")
    g2 = read_graph(path2, signed=True, weighted=False)
    np.testing.assert_allclose(g2.weights, [-1.0, 1.0])


def test_gzip_and_anndata_like_nodes(tmp_path):
    path = tmp_path / "net.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("Tp53\tMdm2\n")

    class FakeAnnData:
        var_names = ["MDM2", "TP53"]

    with pytest.raises(InputFileError, match="case_sensitive=False"):
        read_graph(path, nodes=FakeAnnData())
    g = read_graph(path, nodes=FakeAnnData(), case_sensitive=False)
    assert g.nodes == ["MDM2", "TP53"] and g.n_edges == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a\tb\t1\nc\n", 2, "expected 3 fields"),
        ("a\tb\t1\nc\td\tx\n", 2, "weight 'x' is not a number"),
        ("a\tb\t1\nc\td\t-2\n", 2, "negative weight"),
        ("a\tb\t1\nc\td\tnan\n", 2, "not finite"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path / "bad.tsv", text)
    with pytest.raises(InputFileError, match=message) as info:
        read_graph(path)
    assert info.value.line == line and str(path) in str(info.value)


def test_bad_sign_and_no_match_and_empty(tmp_path):
    with pytest.raises(InputFileError, match="sign '\\?'") as info:
        read_graph(_write(tmp_path / "s.tsv", "a\tb\t?\n"), signed=True)
    assert info.value.line == 1
    with pytest.raises(InputFileError, match="none of the 1 edges"):
        read_graph(_write(tmp_path / "n.tsv", "ENSG1\tENSG2\n"), nodes=["TP53", "MDM2"])
    with pytest.raises(InputFileError, match="no edges"):
        read_graph(_write(tmp_path / "e.tsv", "# nothing\nsource\ttarget\n"))
    with pytest.raises(ValueError, match="unique"):
        read_graph(_write(tmp_path / "u.tsv", "a\tb\n"), nodes=["a", "a", "b"])


def test_normalized_adjacency_equals_dense_reference(rng):
    n = 7
    edges = [(0, 1), (1, 2), (2, 3), (0, 3), (4, 5), (5, 5)]
    weights = rng.uniform(0.2, 2.0, size=len(edges))
    names = [f"n{i}" for i in range(n)]
    g = graph_from_edges(
        [(names[i], names[j], w) for (i, j), w in zip(edges, weights)], nodes=names
    )
    for loops in (True, False):
        got = normalized_adjacency(g.adjacency(dtype=torch.float64), self_loops=loops)
        assert got.is_sparse
        np.testing.assert_allclose(
            got.to_dense().numpy(), _dense_reference(edges, weights, n, loops), atol=1e-12
        )
    # node 6 is isolated: with self-loops its row is e_6, without them it is zero
    dense = normalized_adjacency(g.adjacency()).to_dense().numpy()
    assert dense[6, 6] == pytest.approx(1.0) and dense[6, :6].sum() == 0
    # a dense numpy input gives the same sparse result
    a = g.adjacency().to_dense().numpy()
    np.testing.assert_allclose(normalized_adjacency(a).to_dense().numpy(), dense, atol=1e-6)


def test_signed_normalisation_uses_absolute_degree():
    g = graph_from_edges([("a", "b", -1.0), ("b", "c", 3.0)])
    got = normalized_adjacency(g.adjacency(dtype=torch.float64)).to_dense().numpy()
    np.testing.assert_allclose(got, _dense_reference([(0, 1), (1, 2)], [-1.0, 3.0], 3), atol=1e-12)
    assert got[0, 1] < 0
