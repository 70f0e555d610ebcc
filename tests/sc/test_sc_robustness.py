"""Issue 14, single-cell items: bulk-scale counts, a last batch of one cell, empty cells and genes
(``drop_empty``), ``denoise --help``, an output that is the input file, and the CLI's thread default."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from genodeep.sc.simulate import simulate_counts

ad = pytest.importorskip("anndata")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _counts(n_cells: int, n_genes: int = 20, seed: int = 0):
    a = simulate_counts(n_cells, n_genes, n_groups=2, random_state=seed).to_anndata()
    a.X = np.asarray(a.X, dtype=np.float32)
    return a


# ------------------------------------------------------------------------------ 1. bulk-scale counts
@pytest.mark.slow
def test_denoise_bulk_scale_counts_stay_on_the_input_scale_and_correlate():
    # the shipped pbmc68k counts x1000: before the count autoencoder started its rates at the data's
    # scale, 20 epochs gave a denoised mean of 209 for an input mean of 909 and r = 0.33 (0.88 now);
    # the same counts x1 give r = 0.92
    import scipy.sparse as sp

    from genodeep.example_data import pbmc_counts
    from genodeep.sc.api import denoise

    a = ad.read_h5ad(pbmc_counts())
    X = a.X.toarray() if sp.issparse(a.X) else np.asarray(a.X)
    a.X = (X * 1000).astype(np.float32)
    out = denoise(a, max_epochs=20, device="cpu", random_state=0)
    D = out.layers["denoised"]
    ratio = D.mean() / a.X.mean()
    r = np.corrcoef(a.X.ravel(), D.ravel())[0, 1]
    assert 1 / 3 < ratio < 3, ratio
    assert r > 0.75, r
    # per gene, the denoised means follow the input's (the scale is right gene by gene)
    r_gene = np.corrcoef(np.log1p(a.X.mean(0)), np.log1p(D.mean(0)))[0, 1]
    assert r_gene > 0.95, r_gene


def test_count_autoencoder_starts_at_the_gene_means_of_any_scale():
    from genodeep.sc.models import CountAutoencoder, CountDataset

    a = _counts(60)
    for scale in (1.0, 1000.0):
        data = CountDataset(a.X * scale)
        torch.manual_seed(0)
        net = CountAutoencoder(a.n_vars, n_latent=2, dropout=0.0).eval()
        net.init_rates(data.X, data.sf)
        with torch.no_grad():
            mu = net.predict_mean(data.X, data.sf)
        # before any training the mean is within a small factor of each gene's mean
        ratio = mu.mean(0) / data.X.mean(0).clamp_min(1e-3)
        expressed = data.X.mean(0) > 0.5 * scale
        assert ((ratio[expressed] > 0.2) & (ratio[expressed] < 5)).all(), (scale, ratio)


def test_counts_too_large_for_float32_are_refused_with_a_fix():
    from genodeep.sc.training import fit_count_model

    X = _counts(10).X.copy()
    X[0, 0] = 2.0**25
    with pytest.raises(ValueError, match=r"2\*\*24.*fix: divide the counts"):
        fit_count_model(X, model="nb", max_epochs=1)


# -------------------------------------------------------------------------- 2. a last batch of 1 cell
def test_training_batch_size_never_leaves_one_cell():
    from genodeep.sc.training import training_batch_size

    assert training_batch_size(129, 128) == 129  # 129 % 129 == 0
    assert training_batch_size(257, 128) == 129  # 257 = 129 + 128
    assert training_batch_size(256, 128) == 128
    assert training_batch_size(10, 128) == 10
    for n in range(2, 300):
        for b in (1, 2, 3, 16, 64, 128):
            e = training_batch_size(n, b)
            assert n % e != 1 and e >= min(b, n)
    with pytest.raises(ValueError, match="at least 2 cells"):
        training_batch_size(1, 128)


@pytest.mark.parametrize("fn", ["denoise", "embed"])
def test_one_more_cell_than_the_batch_size_trains_and_keeps_every_cell(fn):
    # 17 cells, batch 16: a last batch of one cell crashed BatchNorm in training mode
    import genodeep.sc.api as api

    a = _counts(17)
    out = getattr(api, fn)(a, model="nb", n_latent=2, max_epochs=1, batch_size=16, device="cpu")
    assert out.n_obs == 17
    key = "X_latent" if fn == "denoise" else "X_genodeep"
    assert out.obsm[key].shape == (17, 2) and np.isfinite(out.obsm[key]).all()
    info = out.uns["genodeep"][fn]
    assert info["training"]["batch_size"] == 17


def test_default_vae_with_129_cells_and_batch_128():
    from genodeep.sc.api import embed

    a = _counts(129)
    out = embed(a, n_latent=2, max_epochs=1, batch_size=128, device="cpu")
    assert out.obsm["X_genodeep"].shape == (129, 2)


# ------------------------------------------------------------------------------ 3. drop_empty
def _with_empty():
    a = _counts(30)
    a.X += 1.0  # no cell or gene is empty by chance
    a.X[[3, 11]] = 0.0  # two empty cells
    a.X[:, 5] = 0.0  # one empty gene
    return a


def test_empty_cell_error_names_the_way_out():
    from genodeep.sc.api import denoise

    with pytest.raises(
        ValueError, match=r"2 of 30 cells have no counts.*drop_empty=True.*--drop-empty"
    ):
        denoise(_with_empty(), model="nb", max_epochs=1)


@pytest.mark.parametrize("fn", ["denoise", "embed"])
def test_drop_empty_keeps_order_and_records_what_was_dropped(fn):
    import genodeep.sc.api as api

    a = _with_empty()
    before = a.copy()
    out = getattr(api, fn)(a, model="nb", n_latent=2, max_epochs=1, drop_empty=True, device="cpu")
    keep = [n for i, n in enumerate(a.obs_names) if i not in (3, 11)]
    assert list(out.obs_names) == keep  # remaining cells in their order
    assert list(out.var_names) == [n for i, n in enumerate(a.var_names) if i != 5]
    g = out.uns["genodeep"]
    assert list(g["dropped_cells"]) == [a.obs_names[3], a.obs_names[11]]
    assert list(g["dropped_genes"]) == [a.var_names[5]]
    np.testing.assert_array_equal(out.X, before.X[np.ix_([i for i in range(30) if i not in (3, 11)],
                                                         [j for j in range(20) if j != 5])])  # fmt: skip
    assert "genodeep" not in a.uns or "dropped_cells" not in a.uns["genodeep"]  # input untouched


def test_drop_empty_with_nothing_to_drop_records_empty_lists():
    from genodeep.sc.api import denoise

    a = _counts(20)
    out = denoise(a, model="nb", n_latent=2, max_epochs=1, drop_empty=True, device="cpu")
    assert out.shape == a.shape
    assert list(out.uns["genodeep"]["dropped_cells"]) == []
    assert list(out.uns["genodeep"]["dropped_genes"]) == []


@pytest.mark.slow
def test_cli_drop_empty_writes_the_record(tmp_path, capsys):
    from genodeep.cli.__main__ import main

    a = _with_empty()
    src, out = tmp_path / "in.h5ad", tmp_path / "out.h5ad"
    a.write_h5ad(src)
    assert main(["denoise", str(src), "--out", str(out), "--model", "nb", "--max-epochs", "1"]) == 1
    assert "--drop-empty" in capsys.readouterr().err
    args = ["--model", "nb", "--max-epochs", "1", "--drop-empty"]
    assert main(["denoise", str(src), "--out", str(out), *args]) == 0
    assert "dropped 2 of 30 cells and 1 of 20 genes" in capsys.readouterr().err
    back = ad.read_h5ad(out)
    assert back.n_obs == 28 and back.n_vars == 19
    assert list(back.uns["genodeep"]["dropped_cells"]) == [a.obs_names[3], a.obs_names[11]]
    assert list(back.uns["genodeep"]["dropped_genes"]) == [a.var_names[5]]
    emb = tmp_path / "emb.h5ad"
    assert main(["embed", str(src), "--out", str(emb), *args]) == 0
    assert ad.read_h5ad(emb).n_obs == 28


# ------------------------------------------------------------------------------ 4. --help
def test_denoise_help_names_layer_epochs_and_early_stopping(capsys):
    from genodeep.cli.__main__ import main
    from genodeep.sc.training import _TRAIN_DEFAULTS

    with pytest.raises(SystemExit):
        main(["denoise", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "layers['denoised']" in text and "obsm['X_latent']" in text
    assert f"default {_TRAIN_DEFAULTS['zinb']['max_epochs']}" in text
    assert f"{_TRAIN_DEFAULTS['linear']['max_epochs']} for --model linear" in text
    assert all(_TRAIN_DEFAULTS[m]["max_epochs"] == 60 for m in ("zinb", "nb", "ae", "dae"))
    assert "No early stopping" in text and "last epoch's weights" in text
    assert "--drop-empty" in text


# ------------------------------------------------------------------------------ 5. --out == input
@pytest.mark.parametrize("cmd", ["denoise", "embed", "generate"])
def test_output_that_is_the_input_is_refused(tmp_path, capsys, cmd):
    from genodeep.cli.__main__ import main

    a = _counts(20)
    src = tmp_path / "x.h5ad"
    a.write_h5ad(src)
    before = src.read_bytes()
    link = tmp_path / "link.h5ad"
    os.symlink(src, link)
    for out in (src, tmp_path / "sub" / ".." / "x.h5ad", link):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main([cmd, str(src), "--out", str(out), "--max-epochs", "1"]) == 1
        err = capsys.readouterr().err
        assert "is the input file" in err and "fix: give another output path" in err
    assert src.read_bytes() == before


def test_check_not_input_accepts_a_different_file(tmp_path):
    from genodeep.workflows.sc import check_not_input

    (tmp_path / "a.h5ad").write_bytes(b"")
    check_not_input(tmp_path / "a.h5ad", tmp_path / "b.h5ad")  # no error
    with pytest.raises(ValueError, match="would overwrite the input"):
        check_not_input(tmp_path / "a.h5ad", tmp_path / "a.h5ad")


# ------------------------------------------------------------------------------ threads
def test_sc_cli_uses_one_thread_unless_threads_is_given(monkeypatch):
    import argparse

    from genodeep.cli._denoise import default_threads

    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    default_threads(argparse.Namespace(threads=None))
    default_threads(argparse.Namespace(threads=2))
    assert calls == [1]
