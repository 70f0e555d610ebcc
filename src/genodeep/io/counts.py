"""Count matrices (cells x genes) in and out: ``.h5ad``, 10x ``.mtx`` folders, CSV/TSV.

Every reader returns an :class:`anndata.AnnData` with cells as rows (``obs``) and genes as columns
(``var``) and the counts in ``X``. ``anndata`` is an optional dependency (``pip install 'genodeep[sc]'``)
and is imported only when a function here is called.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from genodeep._io_utils import GZIP_ERRORS, TRUNCATED_GZIP_FIX, atomic_path, is_gzip, open_text
from genodeep._validate import InputFileError, check_file_exists, near_matches, require

__all__ = ["read_counts", "write_h5ad"]

_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
_FORMATS = ".h5ad, a 10x folder (matrix.mtx[.gz] + barcodes.tsv[.gz] + features.tsv[.gz]/genes.tsv[.gz]), .mtx[.gz], .csv/.tsv/.txt[.gz]"


def read_counts(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    genes_by_cells: bool = False,
):
    """Read a count matrix into an AnnData object (cells x genes).

    Parameters
    ----------
    path : str or path-like
        One of: an ``.h5ad`` file; a 10x Genomics folder holding ``matrix.mtx[.gz]``,
        ``barcodes.tsv[.gz]`` and ``features.tsv[.gz]`` (or ``genes.tsv[.gz]``), or the ``.mtx`` file of
        such a folder; a delimited text table ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``) whose first
        row holds the column names and first column the row names.
    layer : str, optional
        For ``.h5ad``: take the counts from ``adata.layers[layer]`` (or ``"raw"`` for ``adata.raw.X``)
        instead of ``X``; they are placed in ``X`` of the returned object, the original ``X`` is kept as
        ``layers["X_original"]``.
    genes_by_cells : bool, default False
        For text tables: the file has genes as rows and cells as columns (it is transposed).
        10x matrices are always genes x cells on disk and are transposed automatically.

    Returns
    -------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Counts in ``X`` (a ``scipy.sparse.csr_matrix`` for 10x input, dense ``float32`` for tables,
        as stored for ``.h5ad``); ``obs_names`` are cell barcodes, ``var_names`` gene names.

    Raises
    ------
    InputFileError
        Unknown format, missing companion files, a missing layer, non-numeric table entries.
    """
    require("anndata", "sc")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"count matrix not found: {path}")
    if path.is_dir():
        return _read_10x_folder(path)
    name = path.name.lower()
    stem = name[:-3] if name.endswith(".gz") else name
    if stem.endswith(".h5ad"):
        return _read_h5ad(path, layer)
    if layer is not None:
        raise ValueError(
            f"layer={layer!r} only applies to .h5ad input, got {path}; leave layer unset for this format"
        )
    if stem.endswith(".mtx"):
        return _read_10x_folder(path.parent, matrix=path)
    if stem.endswith(_TABLE_SUFFIXES):
        return _read_table(path, genes_by_cells=genes_by_cells)
    raise InputFileError(
        "unrecognised count-matrix format",
        path=path,
        fix=f"give one of: {_FORMATS}",
    )


def write_h5ad(adata, path: str | os.PathLike, *, compression: str | None = "gzip") -> Path:
    """Write ``adata`` to ``path`` atomically (a failed write leaves no partial file).

    Parameters
    ----------
    adata : anndata.AnnData
        The object to write.
    path : str or path-like
        Destination ``.h5ad`` file; parent folders are created.
    compression : {"gzip", "lzf", None}, default "gzip"
        HDF5 compression of the arrays.

    Returns
    -------
    path : pathlib.Path
        The written file.
    """
    require("anndata", "sc")
    path = Path(path)
    if not path.name.endswith(".h5ad"):
        raise ValueError(f"path must end in .h5ad, got {str(path)!r}; rename the output file")
    original = adata.uns
    adata.uns = _writable_uns(dict(original))
    try:
        with atomic_path(path) as tmp:
            adata.write_h5ad(tmp, compression=compression)
    finally:
        adata.uns = original
    return path


# --------------------------------------------------------------------------------------------------
# readers


def _read_h5ad(path: Path, layer: str | None):
    import anndata as ad

    try:
        adata = ad.read_h5ad(path)
    except OSError as err:
        raise InputFileError(
            f"cannot read as .h5ad ({err})",
            path=path,
            fix="check the file is a complete AnnData file",
        ) from err
    if layer is None:
        return adata
    if layer == "raw":
        if adata.raw is None:
            raise InputFileError(
                "layer='raw' requested but the file has no .raw",
                path=path,
                fix=f"choose one of the layers {sorted(adata.layers)} or leave layer unset to use X",
            )
        if adata.raw.n_vars != adata.n_vars:
            raw = adata.raw.to_adata()
            adata = ad.AnnData(raw.X, obs=adata.obs, var=raw.var, uns=adata.uns)
            return adata
        counts = adata.raw.X
    elif layer in adata.layers:
        counts = adata.layers[layer]
    else:
        close = near_matches(layer, list(adata.layers))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputFileError(
            f"layer {layer!r} not found{hint}; the file has layers {sorted(adata.layers)}",
            path=path,
            fix="pass one of those layers, layer='raw' for adata.raw, or leave layer unset to use X",
        )
    adata.layers["X_original"] = adata.X
    adata.X = counts
    return adata


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    for n in names:
        for cand in (folder / n, folder / (n + ".gz")):
            if cand.exists():
                return cand
    return None


def _read_10x_folder(folder: Path, matrix: Path | None = None):
    import anndata as ad
    import pandas as pd
    import scipy.io
    import scipy.sparse as sp

    matrix = matrix or _find(folder, ("matrix.mtx",))
    if matrix is None:
        raise InputFileError(
            "no matrix.mtx or matrix.mtx.gz in this folder",
            path=folder,
            fix=f"point to a 10x folder or to a file in one of the formats {_FORMATS}",
        )
    barcodes = _find(folder, ("barcodes.tsv",))
    features = _find(folder, ("features.tsv", "genes.tsv"))
    missing = [
        n
        for n, p in (
            ("barcodes.tsv[.gz]", barcodes),
            ("features.tsv[.gz]/genes.tsv[.gz]", features),
        )
        if p is None
    ]
    if missing:
        raise InputFileError(
            f"10x folder lacks {' and '.join(missing)}",
            path=folder,
            fix="put the barcodes and features files that came with matrix.mtx beside it",
        )
    opener = gzip.open if is_gzip(matrix) else open
    try:
        with opener(matrix, "rb") as fh:
            mat = scipy.io.mmread(fh)
    except GZIP_ERRORS as err:
        raise InputFileError(
            f"could not read the matrix ({type(err).__name__}: {err})",
            path=matrix,
            fix=TRUNCATED_GZIP_FIX,
        ) from None
    except ValueError as err:
        raise InputFileError(
            f"not a valid MatrixMarket file ({err})", path=matrix, fix="re-export the 10x matrix"
        ) from err
    mat = sp.csr_matrix(mat.T, dtype=np.float32)  # 10x stores genes x cells
    cells = _read_lines(barcodes)
    with open_text(features) as fh:
        feat = pd.read_csv(fh, sep="\t", header=None, dtype=str)
    n_cells, n_genes = mat.shape
    if len(cells) != n_cells:
        raise InputFileError(
            f"{len(cells)} barcodes but the matrix has {n_cells} columns (cells)",
            path=barcodes,
            fix="use the barcodes file that belongs to this matrix",
        )
    if len(feat) != n_genes:
        raise InputFileError(
            f"{len(feat)} features but the matrix has {n_genes} rows (genes)",
            path=features,
            fix="use the features/genes file that belongs to this matrix",
        )
    var = pd.DataFrame(index=pd.Index(feat.iloc[:, 0].to_numpy(), name=None))
    if feat.shape[1] > 1:
        var["gene_ids"] = feat.iloc[:, 0].to_numpy()
        var.index = pd.Index(feat.iloc[:, 1].to_numpy())
    if feat.shape[1] > 2:
        var["feature_types"] = feat.iloc[:, 2].to_numpy()
    obs = pd.DataFrame(index=pd.Index(cells))
    adata = ad.AnnData(mat, obs=obs, var=var)
    if not adata.var_names.is_unique:
        adata.var_names_make_unique()
    return adata


def _read_lines(path: Path) -> list[str]:
    with open_text(path) as fh:
        return [line.rstrip("\n").split("\t")[0] for line in fh if line.strip()]


def _read_table(path: Path, *, genes_by_cells: bool):
    import anndata as ad
    import pandas as pd

    check_file_exists(path)
    name = path.name.lower().removesuffix(".gz")
    sep = "," if name.endswith(".csv") else "\t"
    with open_text(path) as fh:
        try:
            df = pd.read_csv(fh, sep=sep, index_col=0)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise InputFileError(
                f"cannot parse as a {'comma' if sep == ',' else 'tab'}-separated table ({err})",
                path=path,
                fix="give a table with a header row and row names in the first column",
            ) from err
    if df.shape[1] == 0:
        raise InputFileError(
            "the table has no data columns",
            path=path,
            fix=f"check the separator: {path.suffix} files are read as {'comma' if sep == ',' else 'tab'}-separated",
        )
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        col = bad[0]
        values = pd.to_numeric(df[col], errors="coerce")
        row = (
            int(np.flatnonzero(values.isna().to_numpy() & df[col].notna().to_numpy())[0])
            if values.isna().any()
            else 0
        )
        raise InputFileError(
            f"non-numeric value {df[col].iloc[row]!r} in column {col!r}",
            path=path,
            line=row + 2,
            fix="the table must hold only counts apart from the header row and the first (name) column",
        )
    X = df.to_numpy(dtype=np.float32)
    rows = df.index.astype(str)
    cols = df.columns.astype(str)
    if genes_by_cells:
        X, rows, cols = X.T.copy(), cols, rows
    adata = ad.AnnData(
        X, obs=pd.DataFrame(index=pd.Index(rows)), var=pd.DataFrame(index=pd.Index(cols))
    )
    return adata


def _writable_uns(value):
    """A copy of ``uns`` that h5py can store: None -> "None", tuples/lists -> arrays or strings."""
    if isinstance(value, dict):
        return {k: _writable_uns(v) for k, v in value.items()}
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
            return np.asarray(value)
        if all(isinstance(v, str) for v in value):
            return np.asarray(value, dtype=object)
        if all(isinstance(v, dict) for v in value):
            return {str(i): _writable_uns(v) for i, v in enumerate(value)}
        return str(value)
    return value
