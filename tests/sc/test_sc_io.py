"""Count-matrix readers and the atomic .h5ad writer (genodeep.io.counts)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from genodeep._validate import InputFileError
from genodeep.io.counts import read_counts, write_h5ad

ad = pytest.importorskip("anndata")


def _counts(rng, n=6, g=4):
    return rng.poisson(3.0, size=(n, g)).astype(np.float32)


def _write_10x(folder, X, *, gz=True, old=False):
    """A 10x folder: matrix (genes x cells), barcodes, features (3 cols) or genes (2 cols, old)."""
    folder.mkdir()
    n, g = X.shape
    sfx = ".gz" if gz else ""
    op = gzip.open if gz else open
    with op(folder / f"matrix.mtx{sfx}", "wb") as fh:
        scipy.io.mmwrite(fh, sp.coo_matrix(X.T.astype(np.int64)))
    with op(folder / f"barcodes.tsv{sfx}", "wt") as fh:
        fh.write("".join(f"CELL{i}-1\n" for i in range(n)))
    name = "genes.tsv" if old else "features.tsv"
    with op(folder / f"{name}{sfx}", "wt") as fh:
        for j in range(g):
            fh.write(f"ENSG{j}\tGENE{j}" + ("" if old else "\tGene Expression") + "\n")


@pytest.mark.parametrize("gz,old", [(True, False), (False, True)])
def test_read_10x_folder_transposes_to_cells_by_genes(tmp_path, rng, gz, old):
    X = _counts(rng)
    _write_10x(tmp_path / "tenx", X, gz=gz, old=old)
    a = read_counts(tmp_path / "tenx")
    assert a.shape == X.shape
    np.testing.assert_array_equal(a.X.toarray(), X)
    assert list(a.obs_names[:2]) == ["CELL0-1", "CELL1-1"]
    assert list(a.var_names) == [f"GENE{j}" for j in range(X.shape[1])]
    assert list(a.var["gene_ids"]) == [f"ENSG{j}" for j in range(X.shape[1])]
    # the .mtx file itself names its folder
    b = read_counts(tmp_path / "tenx" / ("matrix.mtx.gz" if gz else "matrix.mtx"))
    np.testing.assert_array_equal(b.X.toarray(), X)


def test_read_10x_folder_with_missing_or_mismatched_files(tmp_path, rng):
    X = _counts(rng)
    _write_10x(tmp_path / "tenx", X)
    (tmp_path / "tenx" / "barcodes.tsv.gz").unlink()
    with pytest.raises(InputFileError, match="barcodes"):
        read_counts(tmp_path / "tenx")
    with gzip.open(tmp_path / "tenx" / "barcodes.tsv.gz", "wt") as fh:
        fh.write("only-one\n")
    with pytest.raises(InputFileError, match="1 barcodes but the matrix has 6"):
        read_counts(tmp_path / "tenx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no matrix.mtx"):
        read_counts(tmp_path / "empty")


@pytest.mark.parametrize("ext,sep", [(".csv", ","), (".tsv", "\t"), (".txt.gz", "\t")])
def test_read_tables_both_orientations(tmp_path, rng, ext, sep):
    X = _counts(rng)
    cells = [f"c{i}" for i in range(X.shape[0])]
    genes = [f"g{j}" for j in range(X.shape[1])]
    lines = [sep.join(["", *genes])] + [
        sep.join([c, *map(str, row.astype(int))]) for c, row in zip(cells, X)
    ]
    text = "\n".join(lines) + "\n"
    path = tmp_path / f"m{ext}"
    if ext.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    a = read_counts(path)
    np.testing.assert_array_equal(a.X, X)
    assert list(a.obs_names) == cells and list(a.var_names) == genes
    t = read_counts(path, genes_by_cells=True)  # the same file read as genes x cells
    np.testing.assert_array_equal(t.X, X.T)
    assert list(t.obs_names) == genes


def test_read_table_non_numeric_value_names_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(",g0,g1\nc0,1,2\nc1,3,oops\n")
    with pytest.raises(
        InputFileError, match=r"bad.csv, line 3: non-numeric value 'oops' in column 'g1'"
    ):
        read_counts(path)


def test_h5ad_layers_raw_and_errors(tmp_path, rng):
    X = _counts(rng)
    a = ad.AnnData(np.log1p(X), layers={"counts": X})
    a.raw = ad.AnnData(X * 2)
    path = tmp_path / "a.h5ad"
    write_h5ad(a, path)
    b = read_counts(path, layer="counts")
    np.testing.assert_array_equal(b.X, X)
    np.testing.assert_allclose(b.layers["X_original"], np.log1p(X))
    np.testing.assert_array_equal(read_counts(path, layer="raw").X, X * 2)
    with pytest.raises(InputFileError, match="layer 'count' not found.*did you mean 'counts'"):
        read_counts(path, layer="count")
    with pytest.raises(ValueError, match="only applies to .h5ad"):
        (tmp_path / "m.csv").write_text(",g\nc,1\n")
        read_counts(tmp_path / "m.csv", layer="counts")


def test_unknown_format_and_missing_file(tmp_path):
    (tmp_path / "x.loom").write_text("?")
    with pytest.raises(InputFileError, match="unrecognised count-matrix format.*Fix: give one of"):
        read_counts(tmp_path / "x.loom")
    with pytest.raises(FileNotFoundError):
        read_counts(tmp_path / "missing.h5ad")


def test_write_h5ad_is_atomic_and_stores_params(tmp_path, rng, monkeypatch):
    a = ad.AnnData(_counts(rng))
    a.uns["genodeep"] = {
        "denoise": {
            "model": "zinb",
            "hidden": (64,),
            "patience": None,
            "history": {"epoch": np.arange(3)},
        }
    }
    path = tmp_path / "out.h5ad"
    write_h5ad(a, path)
    back = ad.read_h5ad(path)
    assert back.uns["genodeep"]["denoise"]["model"] == "zinb"
    np.testing.assert_array_equal(back.uns["genodeep"]["denoise"]["hidden"], [64])
    np.testing.assert_array_equal(back.uns["genodeep"]["denoise"]["history"]["epoch"], [0, 1, 2])
    assert a.uns["genodeep"]["denoise"]["hidden"] == (64,)  # the caller's object is untouched

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ad.AnnData, "write_h5ad", boom)
    with pytest.raises(OSError, match="disk full"):
        write_h5ad(a, tmp_path / "never.h5ad")
    assert not (tmp_path / "never.h5ad").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    with pytest.raises(ValueError, match="must end in .h5ad"):
        write_h5ad(a, tmp_path / "x.hdf5")
