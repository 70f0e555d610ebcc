"""Count VAE training speed against scvi-tools (issue 6).

Target (docs/performance.md): one training epoch of genodeep's NB :class:`~genodeep.sc.vae.CountVAE`
takes <= 1.0x the time of scvi-tools' ``SCVI`` on the same matrix with matching layer sizes
(1 hidden layer of 128, 10 latent dimensions, dropout 0.1, NB likelihood, batch size 128, Adam 1e-3,
no validation split, no early stopping).

Both sides train a fresh model for ``EPOCHS`` epochs through Lightning (genodeep: ``genodeep.train.fit``
via :func:`genodeep.sc.training.fit_last_epoch`; scvi-tools: ``SCVI.train``); the time per epoch is the
whole call divided by ``EPOCHS`` (set-up included on both sides), timed alternately A B A B.

Matrices: the shipped pbmc68k counts (700 cells x 765 genes) and a splatter-like simulated matrix
(10,000 cells x 2,000 genes) where compute, not per-step overhead, dominates.

Run: ``python benchmarks/bench_unsupervised.py`` (``GENODEEP_BENCH_QUICK=1`` for a smoke test).
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import QUICK, compare, print_timings, result, size, write_results  # noqa: E402

from genodeep.sc.models import CountDataset
from genodeep.sc.simulate import simulate_counts  # noqa: E402
from genodeep.sc.training import fit_last_epoch  # noqa: E402
from genodeep.sc.vae import CountVAE  # noqa: E402

EPOCHS = size(10, 2)
ROUNDS = size(5, 1)
BATCH = 128
LR = 1e-3
ARCH = {"n_hidden": 128, "n_latent": 10, "n_layers": 1, "dropout": 0.1}
PEER = "scvi-tools SCVI (n_hidden=128, n_latent=10, n_layers=1, dropout_rate=0.1, gene_likelihood='nb')"


def _matrices() -> dict[str, np.ndarray]:
    mats: dict[str, np.ndarray] = {}
    pbmc = (
        Path(__file__).resolve().parents[2] / "shared" / "data" / "pbmc68k" / "pbmc68k_counts.h5ad"
    )
    if not pbmc.exists():
        pbmc = (
            Path(__file__).resolve().parents[1]
            / "src"
            / "genodeep"
            / "_data"
            / "pbmc68k_counts.h5ad"
        )
    if pbmc.exists():
        import anndata as ad

        X = ad.read_h5ad(pbmc).X
        mats["pbmc68k"] = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float32)
    n_cells, n_genes = size(10_000, 500), size(2_000, 200)
    sim = simulate_counts(n_cells, n_genes, n_groups=5, lib_loc=8.0, random_state=0)
    mats[f"sim{n_cells // 1000}k"] = sim.counts.astype(np.float32)
    return mats


def _ours(X: np.ndarray):
    data = CountDataset(X)
    median = float(np.median(X.sum(1)))

    def run() -> None:
        torch.manual_seed(0)
        model = CountVAE(X.shape[1], likelihood="nb", normalize_input=median, **ARCH)
        fit_last_epoch(
            model, data, max_epochs=EPOCHS, batch_size=BATCH, lr=LR, device="cpu", random_state=0
        )

    return run


def _peer(X: np.ndarray):
    try:
        import anndata as ad
        import scvi
    except ImportError as err:
        return (
            None,
            f"scvi-tools is not installed ({err}); pip install scvi-tools (it leaves torch unchanged)",
        )
    scvi.settings.verbosity = logging.ERROR
    scvi.settings.dl_num_workers = 0
    for name in ("scvi", "lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    adata = ad.AnnData(X.copy())
    scvi.model.SCVI.setup_anndata(adata)

    def run() -> None:
        torch.manual_seed(0)
        model = scvi.model.SCVI(
            adata, n_hidden=128, n_latent=10, n_layers=1, dropout_rate=0.1, gene_likelihood="nb"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.train(
                max_epochs=EPOCHS,
                batch_size=BATCH,
                train_size=1.0,
                early_stopping=False,
                accelerator="cpu",
                devices=1,
                enable_progress_bar=False,
                plan_kwargs={"lr": LR},
                logger=False,
                enable_checkpointing=False,
                enable_model_summary=False,
            )

    return run, None


def main() -> None:
    from genodeep._progress import set_quiet

    set_quiet(True)
    warnings.filterwarnings("ignore")
    results: dict[str, dict] = {}
    timings: list[dict] = []
    for name, X in _matrices().items():
        ours = _ours(X)
        peer, reason = _peer(X)
        label = f"NB VAE, {EPOCHS} epochs, {X.shape[0]} cells x {X.shape[1]} genes ({name})"
        t = compare(label, ours, peer, rounds=ROUNDS, warmup=0 if QUICK else 1)
        timings.append(t)
        ours_epoch = t["ours"]["median"] / EPOCHS
        if peer is None:
            results[f"vae_epoch_{name}"] = result(
                None, 1.0, "x (epoch time genodeep / scvi-tools)", higher_is_better=False, peer=PEER,
                reason=reason, genodeep_epoch_s=ours_epoch,
            )  # fmt: skip
            continue
        peer_epoch = t["peer"]["median"] / EPOCHS
        results[f"vae_epoch_{name}"] = result(
            ours_epoch / peer_epoch, 1.0, "x (epoch time genodeep / scvi-tools)", higher_is_better=False,
            peer=PEER, genodeep_epoch_s=ours_epoch, scvi_epoch_s=peer_epoch,
            cells=int(X.shape[0]), genes=int(X.shape[1]), epochs=EPOCHS, batch_size=BATCH,
        )  # fmt: skip
    print_timings(timings)
    write_results("unsupervised", results)


if __name__ == "__main__":
    main()
