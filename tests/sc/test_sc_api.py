"""AnnData-level API and CLI (genodeep.sc.api, genodeep denoise/embed/generate): wiring on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genodeep._validate import InputFileError
from genodeep.sc.simulate import simulate_counts

ad = pytest.importorskip("anndata")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny():
    a = simulate_counts(90, 30, n_groups=2, n_batches=2, random_state=0).to_anndata()
    a.layers["counts"] = a.X.copy()
    a.X = np.log1p(a.X)  # X is not counts: count models must use the layer
    return a


@pytest.mark.slow
def test_denoise_layers_obsm_uns_and_count_check(tiny):
    from genodeep.sc.api import denoise

    with pytest.raises(InputFileError, match="non-integer.*raw counts layer"):
        denoise(tiny, model="zinb", max_epochs=1)
    out = denoise(tiny, model="nb", layer="counts", n_latent=3, max_epochs=2, random_state=1)
    assert out is not tiny and "denoised" not in tiny.layers
    assert out.layers["denoised"].shape == (90, 30) and (out.layers["denoised"] > 0).all()
    assert out.obsm["X_latent"].shape == (90, 3)
    info = out.uns["genodeep"]["denoise"]
    assert (
        info["model"] == "nb"
        and info["config"]["likelihood"] == "nb"
        and info["config"]["mask_rate"] == 0.1
    )
    assert list(info["history"]["epoch"]) == [0, 1]
    again = denoise(tiny, model="nb", layer="counts", n_latent=3, max_epochs=2, random_state=1)
    np.testing.assert_allclose(
        again.layers["denoised"], out.layers["denoised"], rtol=1e-5
    )  # reproducible
    ae = denoise(
        tiny, model="ae", n_latent=2, max_epochs=1, n_top_genes=10
    )  # any matrix is fine for ae
    assert ae.shape == (90, 10) and ae.var["highly_variable"].all()


@pytest.mark.slow
def test_embed_vae_with_batch_key_pca_and_errors(tiny):
    from genodeep.sc.api import embed

    out = embed(tiny, layer="counts", batch_key="batch", n_latent=4, max_epochs=2)
    assert out.obsm["X_genodeep"].shape == (90, 4)
    info = out.uns["genodeep"]["embed"]
    assert info["config"]["n_batch"] == 2 and list(info["batch_categories"]) == ["batch0", "batch1"]
    pca = embed(tiny, model="pca", layer="counts", n_latent=5)
    assert pca.obsm["X_genodeep"].shape == (90, 5)
    with pytest.raises(
        ValueError, match="batch_key='batchh' is not an obs column \\(did you mean 'batch'"
    ):
        embed(tiny, layer="counts", batch_key="batchh")
    with pytest.raises(ValueError, match="model='umap' is not valid"):
        embed(tiny, model="umap")


@pytest.mark.slow
def test_generate_gan_and_vae_with_quality_check(tiny, tmp_path):
    from genodeep.io.counts import write_h5ad
    from genodeep.sc.api import generate

    g = generate(
        tiny,
        40,
        layer="counts",
        max_epochs=2,
        model_kwargs={"generator_hidden": [16], "critic_hidden": [16]},
    )
    assert g.shape == (40, 30) and (g.X >= 0).all()
    q = g.uns["genodeep"]["generate"]["quality"]
    assert set(q) >= {"auc", "mmd2", "reference_auc", "independent_genes_auc"}
    np.testing.assert_allclose(g.layers["log1p"], np.log1p(g.X), rtol=1e-5, atol=1e-6)
    v = generate(tiny, 25, model="vae", layer="counts", holdout=0.0, max_epochs=2)
    assert v.shape == (25, 30) and v.uns["genodeep"]["generate"]["quality"] == {}
    write_h5ad(g, tmp_path / "g.h5ad")
    back = ad.read_h5ad(tmp_path / "g.h5ad")
    assert back.uns["genodeep"]["generate"]["model"] == "gan"


@pytest.mark.slow
def test_cli_denoise_embed_generate(tiny, tmp_path):
    from genodeep.cli.__main__ import main

    a = tiny.copy()
    a.X = a.layers["counts"].copy()
    src = tmp_path / "in.h5ad"
    a.write_h5ad(src)
    out = tmp_path / "den.h5ad"
    plots = tmp_path / "plots"
    common = [
        "--max-epochs",
        "2",
        "--plot-method",
        "pca",
        "--color",
        "group",
        "--plots",
        str(plots),
    ]
    assert main(["-q", "denoise", str(src), "--out", str(out), "--n-latent", "3", *common]) == 0
    den = ad.read_h5ad(out)
    assert "denoised" in den.layers and den.obsm["X_latent"].shape == (90, 3)
    assert (plots / "latent_pca.png").stat().st_size > 1000 and (
        plots / "training_curves.png"
    ).exists()
    emb = tmp_path / "emb.h5ad"
    assert main(["-q", "embed", str(src), "--out", str(emb), "--batch-key", "batch", *common]) == 0
    assert ad.read_h5ad(emb).obsm["X_genodeep"].shape == (90, 10)
    gen = tmp_path / "gen.h5ad"
    assert main(["-q", "generate", str(src), "--out", str(gen), "-n", "30", *common]) == 0
    assert ad.read_h5ad(gen).shape == (30, 30) and (plots / "generated_pca.png").exists()
    # non-counts for a count model: a clear error and exit code 1
    bad = tmp_path / "bad.h5ad"
    tiny.write_h5ad(bad)
    assert (
        main(["-q", "denoise", str(bad), "--out", str(tmp_path / "x.h5ad"), "--max-epochs", "1"])
        == 1
    )
    assert not (tmp_path / "x.h5ad").exists()
