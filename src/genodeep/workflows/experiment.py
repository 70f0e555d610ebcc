"""In-silico experiments that reproduce the review's claims; first, Fig. 2's motif-spacing claim.

:func:`spacing_experiment` simulates a two-motif grammar (:func:`genodeep.seq.simulate_grammar`):
positives carry motif A then motif B at a fixed gap, negatives the same two motifs in a random order at
any other gap. The k-mer composition of the two classes is the same, so a model on k-mer counts cannot
separate them, while a CNN, whose filters see the motifs and their arrangement, can. The experiment trains
the CNN, the dilated CNN and the fully connected network of :mod:`genodeep.models` and the k-mer baselines
of :mod:`genodeep.models.baselines` on the same split and reports held-out auROC/auPRC per model.

>>> table = spacing_experiment(out_dir="spacing")       # about a minute on 2 CPU cores
>>> table[["model", "auroc"]]

:func:`experiment_to_files` is the API behind ``genodeep experiment NAME``: the spacing experiment here,
or one of the demonstrations of :mod:`genodeep.workflows.showcase_files` (multimodal, transfer, graph).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genodeep import example_data
from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.data.sources import load_simulated_data
from genodeep.io.motifs import read_motifs, select_motifs
from genodeep.models import build_model
from genodeep.models.baselines import BASELINES, fit_baselines
from genodeep.train.fit import fit
from genodeep.train.metrics import auprc, auroc
from genodeep.workflows.predict import predict_outputs
from genodeep.workflows.showcase_files import SIZE_ARGUMENT, ShowcaseFiles, showcase_to_files
from genodeep.workflows.tables import markdown_table

#: The default motif pair: BEAF-32 (MA0529.3, 8 bp) and insect CTCF (MA0531.2, 10 bp), both insulator
#: proteins, from the motifs shipped with genodeep (JASPAR 2024 CORE).
DEFAULT_MOTIFS = ("MA0529.3", "MA0531.2")


def _cnn(length: int, span: int) -> tuple[str, dict[str, Any]]:
    # DeepBind-style: one filter is wide enough to cover A + gap + B, so it can learn the pair as one
    # composite motif; global max pooling makes it position-invariant.
    return "deepbind", {"filters": 16, "width": span + 3, "hidden": 16}


def _dilated(length: int, span: int) -> tuple[str, dict[str, Any]]:
    # BPNet/Basenji-style dilated residual CNN with a global (max-pooled) head; receptive field
    # 11 + 2 * (2 + 4 + 8) = 39 bases with 3 layers, one more layer per doubling of the span.
    n_layers = 3
    while 11 + 2 * (2 ** (n_layers + 1) - 2) < span + 4:
        n_layers += 1
    return "bpnet", {
        "filters": 16,
        "first_kernel": 11,
        "n_layers": n_layers,
        "heads": "global",
        "pool": "max",
    }


def _mlp(length: int, span: int) -> tuple[str, dict[str, Any]]:
    # Fully connected network on the flattened one-hot sequence (the review's Fig. 1).
    return "mlp", {"input_length": length, "hidden": [64], "dropout": 0.2}


#: experiment model name -> builder(length, span) -> (architecture in genodeep.models.MODELS, kwargs)
SPACING_MODELS = {"cnn": _cnn, "dilated": _dilated, "mlp": _mlp}

#: the ``quick=True`` sizes of the spacing experiment (seconds on 2 CPU cores; the demo's)
QUICK_SPACING: dict[str, Any] = {"n": 1000, "max_epochs": 2}

#: experiment name (``genodeep experiment NAME``) -> the argument its ``n`` sets (the CLI's ``--n``)
EXPERIMENTS = {"spacing": "n", **SIZE_ARGUMENT}


def experiment_to_files(
    name: str,
    out_dir: str | os.PathLike,
    *,
    n: int | None = None,
    quick: bool = False,
    random_state: int = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> ShowcaseFiles:
    """Run the in-silico experiment ``name``; write ``NAME.tsv``, ``NAME.md`` and ``NAME.png`` in ``out_dir``.

    Parameters
    ----------
    name : {"spacing", "multimodal", "transfer", "graph"}
        :func:`spacing_experiment` (the review's Fig. 2) or a demonstration of
        :func:`~genodeep.workflows.showcase_files.showcase_to_files` (Fig. 3-4).
    out_dir : path
        Output folder (created).
    n : int, optional
        Size of the simulated data: sequences (spacing, multimodal), pretraining sequences (transfer)
        or graph nodes (graph); see :data:`EXPERIMENTS`.
    quick : bool, default False
        Start from the small settings (:data:`QUICK_SPACING`,
        :data:`~genodeep.workflows.showcase_files.QUICK_SETTINGS`).
    random_state : int
        Seed of the simulation, the splits and the initialisations.
    verbose : bool
        Progress bars and status lines.
    **kwargs
        Keyword arguments of the experiment function; they override the quick settings.

    Returns
    -------
    ShowcaseFiles
        The table, the three paths and the claim check (``.claim["message"]``, ``.holds``).
    """
    check_choice("name", name, EXPERIMENTS)
    if n is not None:
        kwargs[EXPERIMENTS[name]] = n
    if name != "spacing":
        return showcase_to_files(
            name, out_dir, quick=quick, random_state=random_state, verbose=verbose, **kwargs
        )
    settings = {**(QUICK_SPACING if quick else {}), **kwargs}
    t0 = time.perf_counter()
    table = spacing_experiment(
        out_dir=out_dir, random_state=random_state, verbose=verbose, **settings
    )
    out = Path(out_dir)
    return ShowcaseFiles(
        name=name,
        table=table,
        tsv=out / "spacing.tsv",
        md=out / "spacing.md",
        png=out / "spacing.png",
        claim=table.attrs["claim"],
        seconds=time.perf_counter() - t0,
    )


def spacing_experiment(
    *,
    n: int = 4000,
    length: int = 200,
    spacing: int = 10,
    motifs: Sequence[str] = DEFAULT_MOTIFS,
    motif_file: str | os.PathLike | None = None,
    models: Sequence[str] = ("cnn", "dilated", "mlp"),
    baselines: Sequence[str] = ("logistic", "random_forest", "gradient_boosting"),
    k: int = 4,
    max_epochs: int = 4,
    batch_size: int = 64,
    lr: float = 2e-3,
    patience: int = 1,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    out_dir: str | os.PathLike | None = None,
    random_state: int = 0,
    verbose: bool = False,
) -> pd.DataFrame:
    """Fig. 2 in silico: CNNs see motif spacing, k-mer models do not.

    Parameters
    ----------
    n : int
        Simulated sequences (half positives).
    length : int
        Sequence length ``L``.
    spacing : int
        Gap in bases between motif A's end and motif B's start in positives.
    motifs : two str
        Motif IDs or names in ``motif_file``.
    motif_file : path, optional
        MEME/JASPAR/PFM file; default the motifs shipped with genodeep.
    models : sequence of str
        Deep models from :data:`SPACING_MODELS` ("cnn", "dilated", "mlp").
    baselines : sequence of str
        k-mer baselines from :data:`genodeep.models.baselines.BASELINES`.
    k : int
        k-mer length of the baselines' features (reverse-complement collapsed frequencies).
    max_epochs, batch_size, lr, patience
        Training of the deep models (:func:`genodeep.train.fit`, early stopping on the validation loss).
    valid_fraction, test_fraction : float
        Held-out fractions; metrics are on the test split.
    out_dir : path, optional
        Write ``spacing.tsv``, ``spacing.md`` and ``spacing.png`` (bar plot) here.
    random_state : int
        Seed of the simulation, the split, the initialisation and the tree baselines.
    verbose : bool
        Status lines.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``family`` ("deep" or "k-mer baseline"), ``architecture``,
        ``auroc``, ``auprc``, ``n_params`` (deep models), ``seconds``. ``table.attrs["claim"]`` holds
        whether the best CNN-family auROC is >= 0.95 and at least 0.1 above the best k-mer baseline,
        and ``table.attrs["settings"]`` the arguments.
    """
    check_positive("n", n)
    check_positive("max_epochs", max_epochs)
    for m in models:
        check_choice("models", m, SPACING_MODELS)
    for b in baselines:
        check_choice("baselines", b, BASELINES)
    if len(motifs) != 2:
        raise ValueError(f"motifs must name 2 motifs (A then B), got {list(motifs)!r}")
    settings = {
        "n": n, "length": length, "spacing": spacing, "motifs": list(motifs), "k": k,
        "max_epochs": max_epochs, "batch_size": batch_size, "lr": lr, "random_state": random_state,
    }  # fmt: skip

    t0 = time.perf_counter()
    data = load_simulated_data(
        simulate="grammar",
        motifs=motif_file,
        names=list(motifs),
        n=n,
        length=length,
        spacing=spacing,
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        random_state=random_state,
    )
    if motif_file is None:
        motif_file = example_data.motifs()
    widths = [m.shape[1] for m in select_motifs(read_motifs(motif_file), list(motifs)).values()]
    span = int(sum(widths) + spacing)
    if verbose:
        log(
            f"spacing experiment: {n} sequences of {length} bp, motifs {list(motifs)} "
            f"({'+'.join(map(str, widths))} bp) {spacing} bp apart; simulated in {time.perf_counter() - t0:.1f} s"
        )
    y_test = data.test.y
    rows = []
    for name in models:
        arch, kwargs = SPACING_MODELS[name](length, span)
        torch.manual_seed(random_state)
        model = build_model(arch, n_tasks=1, **kwargs)
        t = time.perf_counter()
        result = fit(
            model,
            data.train.as_fit_data(),
            data.valid.as_fit_data(),
            loss="bce",
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            patience=patience,
            random_state=random_state,
            verbose=False,
        )
        pred = predict_outputs(result.model, data.test.X, kind="binary", batch_size=256)
        secs = time.perf_counter() - t
        rows.append(
            {
                "model": name,
                "family": "deep",
                "architecture": arch,
                "auroc": float(auroc(y_test, pred)[0]),
                "auprc": float(auprc(y_test, pred)[0]),
                "n_params": int(model.n_params),
                "seconds": secs,
            }
        )
        if verbose:
            log(f"  {name} ({arch}): auROC {rows[-1]['auroc']:.3f} in {secs:.1f} s")
    for name in baselines:
        t = time.perf_counter()
        pred = fit_baselines(
            data.train.X,
            data.train.y,
            data.test.X,
            kind="binary",
            models=(name,),
            k=k,
            random_state=random_state,
        )[name]
        secs = time.perf_counter() - t
        rows.append(
            {
                "model": name,
                "family": "k-mer baseline",
                "architecture": f"{name} on {k}-mer counts",
                "auroc": float(auroc(y_test, pred)[0]),
                "auprc": float(auprc(y_test, pred)[0]),
                "n_params": np.nan,
                "seconds": secs,
            }
        )
        if verbose:
            log(f"  {name}: auROC {rows[-1]['auroc']:.3f} in {secs:.1f} s")
    table = pd.DataFrame(rows)
    table.attrs["claim"] = spacing_claim(table)
    table.attrs["settings"] = settings
    if verbose:
        log(table.attrs["claim"]["message"])
    if out_dir is not None:
        write_spacing_results(table, out_dir)
    return table


def spacing_claim(
    table: pd.DataFrame, *, min_auroc: float = 0.95, min_margin: float = 0.1
) -> dict[str, Any]:
    """Check Fig. 2's claim: best CNN-family auROC >= ``min_auroc`` and >= ``min_margin`` above k-mers.

    The CNN family is "cnn" and "dilated"; the fully connected network is reported but not part of it.

    Returns
    -------
    dict
        ``holds`` (bool), ``cnn_auroc``, ``best_kmer_auroc``, ``margin``, ``message``.
    """
    cnn = table[table["model"].isin(["cnn", "dilated"])]
    kmer = table[table["family"] == "k-mer baseline"]
    cnn_best = float(cnn["auroc"].max()) if len(cnn) else float("nan")
    kmer_best = float(kmer["auroc"].max()) if len(kmer) else float("nan")
    margin = cnn_best - kmer_best
    holds = bool(cnn_best >= min_auroc - 1e-9 and margin >= min_margin - 1e-9)
    message = (
        f"Fig. 2 claim {'holds' if holds else 'does NOT hold'}: best CNN auROC {cnn_best:.3f} "
        f"(target >= {min_auroc}), best k-mer baseline {kmer_best:.3f}, margin {margin:.3f} "
        f"(target >= {min_margin})"
    )
    return {
        "holds": holds,
        "cnn_auroc": cnn_best,
        "best_kmer_auroc": kmer_best,
        "margin": margin,
        "message": message,
    }


def write_spacing_results(table: pd.DataFrame, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``spacing.tsv``, ``spacing.md`` (table + claim line) and ``spacing.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"tsv": out / "spacing.tsv", "md": out / "spacing.md", "png": out / "spacing.png"}
    with atomic_write(paths["tsv"]) as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    claim = table.attrs.get("claim") or spacing_claim(table)
    settings = table.attrs.get("settings", {})
    shown = table.copy()
    shown["n_params"] = shown["n_params"].map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
    shown["seconds"] = shown["seconds"].map(lambda v: f"{v:.1f}")
    with atomic_write(paths["md"]) as fh:
        if settings:
            fh.write("Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n\n")
        fh.write(markdown_table(shown))
        fh.write("\n" + claim["message"] + "\n")
    plot_spacing(table, paths["png"])
    return paths


def plot_spacing(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Bar plot of held-out auROC and auPRC per model (deep models blue, k-mer baselines grey)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    x = np.arange(len(table))
    deep = (table["family"] == "deep").to_numpy()
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(table), 3.6))
    w = 0.38
    colors = np.where(deep, "#2a6f97", "#9a9a9a")
    ax.bar(x - w / 2, table["auroc"], w, color=colors, label="auROC")
    ax.bar(x + w / 2, table["auprc"], w, color=colors, alpha=0.55, hatch="//", label="auPRC")
    ax.axhline(0.5, ls="--", lw=0.8, color="0.4")
    ax.set_xticks(x)
    ax.set_xticklabels(table["model"], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("held-out score")
    ax.set_title("motif spacing: CNNs vs k-mer models")
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return Path(path)
