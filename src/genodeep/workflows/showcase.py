"""Three demonstrations of the review's Fig. 3–4 on simulated data, each returning a table.

- :func:`multimodal_showcase`: binding = motif AND open chromatin. A model that sees the sequence and the
  accessibility track beats the same architecture on the sequence only or on the track only (each
  capped near auROC 5/6 by construction).
- :func:`transfer_showcase`: pretrain a CNN on 8 motif-presence tasks, then learn a new task (two of the
  motifs together) from 100–500 labelled sequences: fine-tuning the pretrained trunk beats training the
  same architecture from scratch (learning curve table + PNG).
- :func:`gcn_showcase`: node labels are the majority of the neighbours' hidden states; a graph
  convolutional network beats the same layers without the graph (an MLP per node).

Every model here is trained with the one small loop of :mod:`genodeep.workflows._showcase_loop`
(Adam, binary cross-entropy, early stopping on a validation split, best weights restored): the
demonstrations compare models, so the loop is kept plain and fast; :func:`genodeep.train.fit` /
:func:`genodeep.train.transfer.fine_tune` run the same models through Lightning for real runs. Results
depend only on ``random_state`` (CPU).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genodeep import example_data
from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import check_positive
from genodeep.data.simulate import simulate_graph_labels, simulate_multimodal
from genodeep.io.motifs import read_motifs, select_motifs
from genodeep.models.cnn import DeepBind
from genodeep.models.gcn import GCN
from genodeep.models.multimodal import MultimodalModel
from genodeep.seq import one_hot, simulate_motif_presence
from genodeep.train.transfer import freeze, param_groups, replace_head
from genodeep.workflows._showcase_loop import (
    adam,
    auc_scores,
    bce,
    early_stopping,
    predict_batched,
    split_indices,
    train_bce,
)

__all__ = ["multimodal_showcase", "transfer_showcase", "gcn_showcase", "plot_learning_curve"]


# --------------------------------------------------------------------------------------------------
# multimodal


def multimodal_showcase(
    *,
    n: int = 4000,
    length: int = 200,
    valid_fraction: float = 0.15,
    test_fraction: float = 0.25,
    filters: int = 32,
    width: int = 15,
    max_epochs: int = 30,
    patience: int = 6,
    batch_size: int = 64,
    lr: float = 3e-3,
    random_state: int = 0,
    verbose: bool = False,
) -> pd.DataFrame:
    """Sequence + accessibility track vs either alone, on windows where binding = motif AND open.

    Data: :func:`genodeep.data.simulate.simulate_multimodal` (motif and openness each present in half of
    the windows, independently). Models (all :class:`genodeep.models.MultimodalModel`, one conv layer of
    ``filters`` x ``width`` with batch norm on the sequence, global max pool, a dense layer of 32):

    - ``multimodal (late)``: sequence tower + track tower (conv 16 x 5, global max/avg pool), joined;
    - ``multimodal (early)``: the track as a fifth input channel of the sequence convolution;
    - ``sequence only``: no track input;
    - ``track only``: the late-fusion model with an uninformative sequence (every base ``N``, an
      all-zero one-hot), so only the track tower carries information.

    Parameters
    ----------
    n, length : int
        Windows to simulate and their length.
    valid_fraction, test_fraction : float
        Held-out fractions (validation for early stopping; test for the table).
    filters, width : int
        Sequence convolution.
    max_epochs, patience, batch_size, lr
        Training (see the module docstring).
    random_state : int
        Seed of the simulation, the split, the initialisations and the shuffling.
    verbose : bool
        Progress bars and a status line per model.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``inputs``, ``n_params``, ``auroc``, ``auprc`` (test split).
        ``table.attrs`` holds ``single_input_auroc_bound`` (5/6 for the default probabilities),
        ``n_train``, ``n_test`` and ``positive_fraction``.
    """
    check_positive("n", n)
    rng = np.random.default_rng(random_state)
    sim = simulate_multimodal(n, length, random_state=rng)
    test, valid, train = split_indices(n, [test_fraction, valid_fraction], rng)
    X = sim.X.float()
    track = sim.track
    blank = torch.zeros_like(X)
    common = dict(filters=[filters], widths=[width], batch_norm=True, dense=[32])
    specs = [
        (
            "multimodal (late)",
            "sequence + track",
            dict(track_channels=1, fusion="late"),
            (X, track),
        ),
        (
            "multimodal (early)",
            "sequence + track",
            dict(track_channels=1, fusion="early"),
            (X, track),
        ),
        ("sequence only", "sequence", {}, (X,)),
        ("track only", "track", dict(track_channels=1, fusion="late"), (blank, track)),
    ]
    rows = []
    for k, (name, inputs, kwargs, data) in enumerate(specs):
        torch.manual_seed(random_state + k)
        model = MultimodalModel(**common, **kwargs)
        tr = [t[train] for t in data]
        va = [t[valid] for t in data]
        te = [t[test] for t in data]
        train_bce(
            model, tr, sim.y[train], va, sim.y[valid], lr=lr, max_epochs=max_epochs, patience=patience,
            batch_size=batch_size, random_state=random_state, verbose=verbose, desc=name,
        )  # fmt: skip
        scores = auc_scores(sim.y[test], predict_batched(model, te))
        rows.append({"model": name, "inputs": inputs, "n_params": model.n_params, **scores})
        if verbose:
            log(f"{name}: test auROC {scores['auroc']:.3f}, auPRC {scores['auprc']:.3f}")
    table = pd.DataFrame(rows)
    p_m, p_o = float(sim.motif.mean()), float(sim.open.mean())
    table.attrs.update(
        single_input_auroc_bound=_single_input_bound(0.5, 0.5),
        n_train=len(train),
        n_test=len(test),
        positive_fraction=float(sim.y.mean()),
        motif_fraction=p_m,
        open_fraction=p_o,
    )
    return table


def _single_input_bound(p_evidence: float, p_other: float) -> float:
    """Best auROC from one input when y = a AND b (independent, P(a) = p_evidence, P(b) = p_other).

    Positives all have ``a``; negatives have ``a`` with probability ``P(a, not b) / P(not y)``. A
    score that knows only ``a`` ranks ``a`` first and ties within: auROC = 1 - q + q / 2 with
    ``q`` that fraction.
    """
    neg = 1.0 - p_evidence * p_other
    q = p_evidence * (1.0 - p_other) / neg
    return 1.0 - q / 2.0


# --------------------------------------------------------------------------------------------------
# transfer learning

#: the 8 pretraining motifs (JASPAR IDs from genodeep.example_data.motifs()) and the new task's pair
PRETRAIN_MOTIFS = (
    "MA0533.1",  # su(Hw)
    "MA0531.2",  # CTCF (fly)
    "MA0205.3",  # Trl
    "MA0460.1",  # ttk
    "MA1700.1",  # Clamp
    "MA0080.7",  # Spi1
    "MA0106.3",  # TP53
    "MA0148.5",  # FOXA1
)
NEW_TASK = ("MA0533.1", "MA0531.2")  # su(Hw) AND CTCF: two insulator proteins


def transfer_showcase(
    *,
    sizes: Sequence[int] = (100, 200, 500),
    n_pretrain: int = 4000,
    n_test: int = 1000,
    length: int = 200,
    positive_fraction: float = 0.6,
    motifs: Sequence[str] = PRETRAIN_MOTIFS,
    new_task: Sequence[str] = NEW_TASK,
    filters: int = 64,
    width: int = 15,
    hidden: int = 32,
    pretrain_epochs: int = 30,
    pretrain_lr: float = 3e-3,
    max_epochs: int = 60,
    patience: int = 10,
    lr: float = 3e-3,
    pretrained_lr_scale: float = 0.1,
    head_init: str = "zeros",
    valid_fraction: float = 0.2,
    out_dir: str | os.PathLike | None = None,
    random_state: int = 0,
    verbose: bool = False,
) -> pd.DataFrame:
    """Pretrain on 8 motif-presence tasks, then learn a new task from few examples: transfer vs scratch.

    Pretraining: :func:`genodeep.seq.simulate_motif_presence` with the motifs ``motifs`` (default the 8
    of :data:`PRETRAIN_MOTIFS`, each present with probability ``positive_fraction``), a DeepBind-style
    CNN (conv ``filters`` x ``width`` -> global max pool -> dense ``hidden`` -> one logit per motif)
    trained on ``n_pretrain`` sequences. New task: "all motifs of ``new_task`` are present" (default
    :data:`NEW_TASK`, su(Hw) AND CTCF: a motif combination), on new sequences from the same simulator. For each size ``n`` in ``sizes``, ``n``
    labelled sequences (``valid_fraction`` of them held out for early stopping) train:

    - ``scratch``: the same architecture with 1 output, randomly initialised, learning rate ``lr``;
    - ``fine-tune``: the pretrained model with its output layer replaced
      (:func:`~genodeep.train.transfer.replace_head`, initialised by ``head_init``), the new layer at
      ``lr`` and the pretrained layers at ``lr * pretrained_lr_scale``
      (:func:`~genodeep.train.transfer.param_groups`);
    - ``frozen trunk``: the pretrained layers frozen (:func:`~genodeep.train.transfer.freeze`), only the
      new output layer trained.

    All are scored on the same ``n_test`` held-out sequences.

    Parameters
    ----------
    sizes : list of int
        Labelled training-set sizes of the new task (each <= 500 in the issue's setting).
    n_pretrain, n_test, length : int
        Pretraining sequences, test sequences of the new task, sequence length.
    positive_fraction : float
        Probability of each motif in a sequence (the new task's positives: its square for two motifs).
    motifs : list of str
        Pretraining motifs: IDs (or "ID name") of motifs in :func:`genodeep.example_data.motifs`.
    new_task : list of str
        Motifs (among ``motifs``) that must all be present for the new task's label.
    filters, width, hidden : int
        Architecture.
    pretrain_epochs, pretrain_lr
        Pretraining (early stopping after 5 epochs without improvement on 15 % held-out sequences).
    max_epochs, patience, lr, pretrained_lr_scale, valid_fraction
        Training on the new task (batch size 32).
    head_init : {"zeros", "default"}, default "zeros"
        Initialisation of the new output layer (see :func:`~genodeep.train.transfer.replace_head`).
    out_dir : path, optional
        Write ``transfer_learning_curve.png`` and ``transfer_learning_curve.tsv`` there.
    random_state : int
    verbose : bool

    Returns
    -------
    pandas.DataFrame
        One row per (``n_train``, ``method``): ``auroc``, ``auprc`` on the test set. ``table.attrs``:
        ``pretrain_auroc`` (mean over the pretraining tasks on held-out sequences), ``new_task``,
        ``positive_fraction`` of the new task, and ``plot`` (the PNG path, when written).
    """
    sizes = [int(s) for s in sizes]
    for s in sizes:
        check_positive("sizes", s)
    if len(new_task) < 1:
        raise ValueError("new_task must name at least one of the pretraining motifs")
    motifs_ = select_motifs(read_motifs(example_data.motifs()), list(motifs))
    names = list(motifs_)
    pair = [i for i, k in enumerate(names) if any(k == m or k.split()[0] == m for m in new_task)]
    if len(pair) != len(set(new_task)):
        raise ValueError(
            f"new_task={list(new_task)!r} must name motifs among the pretraining ones: {names}"
        )
    rng = np.random.default_rng(random_state)

    # ---- pretraining on 8 tasks
    seqs, labels, _ = simulate_motif_presence(
        n_pretrain, length, motifs_, positive_fraction=positive_fraction, random_state=rng
    )
    Xp, yp = one_hot(seqs).float(), torch.from_numpy(labels)
    hold, fit_idx = split_indices(n_pretrain, [0.15], rng)
    torch.manual_seed(random_state)
    arch = dict(filters=filters, width=width, hidden=hidden, padding="same")
    pretrained = DeepBind(n_tasks=len(names), **arch)
    train_bce(
        pretrained, [Xp[fit_idx]], yp[fit_idx], [Xp[hold]], yp[hold], lr=pretrain_lr,
        max_epochs=pretrain_epochs, patience=5, random_state=random_state, verbose=verbose, desc="pretrain",
    )  # fmt: skip
    pre_auc = auc_scores(yp[hold], predict_batched(pretrained, [Xp[hold]]))["auroc"]
    if verbose:
        log(
            f"pretrained on {len(fit_idx)} sequences x {len(names)} tasks: held-out auROC {pre_auc:.3f}"
        )

    # ---- the new task
    n_new = max(sizes) + n_test
    seqs, labels, _ = simulate_motif_presence(
        n_new, length, motifs_, positive_fraction=positive_fraction, random_state=rng
    )
    Xn = one_hot(seqs).float()
    yn = torch.from_numpy((labels[:, pair].min(1) > 0.5).astype(np.float32)[:, None])
    test_idx = np.arange(n_test)
    pool = np.arange(n_test, n_new)
    rows = []
    for n in sizes:
        idx = pool[:n]  # nested training sets: each size adds examples to the previous one
        n_valid = max(1, int(round(valid_fraction * n)))
        va, tr = idx[:n_valid], idx[n_valid:]
        for method in ("scratch", "fine-tune", "frozen trunk"):
            torch.manual_seed(random_state + n)
            if method == "scratch":
                model = DeepBind(n_tasks=1, **arch)
                groups: float | list = lr
            else:
                model = replace_head(pretrained, 1, init=head_init, random_state=random_state + n)
                if method == "frozen trunk":
                    freeze(model, depth=-1)
                    groups = lr
                else:
                    groups = param_groups(model, lr, pretrained_lr_scale)
            train_bce(
                model, [Xn[tr]], yn[tr], [Xn[va]], yn[va], lr=groups, max_epochs=max_epochs,
                patience=patience, batch_size=32, random_state=random_state + n, verbose=verbose,
                desc=f"{method} n={n}",
            )  # fmt: skip
            scores = auc_scores(yn[test_idx], predict_batched(model, [Xn[test_idx]]))
            rows.append({"n_train": n, "method": method, **scores})
            if verbose:
                log(f"n={n} {method}: test auROC {scores['auroc']:.3f}")
    table = pd.DataFrame(rows)
    table.attrs.update(
        pretrain_auroc=pre_auc,
        new_task=" AND ".join(names[i] for i in pair),
        positive_fraction=float(yn.mean()),
        n_test=n_test,
    )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "transfer_learning_curve.tsv") as fh:
            table.to_csv(fh, sep="\t", index=False, float_format="%.4f")
        table.attrs["plot"] = str(plot_learning_curve(table, out / "transfer_learning_curve.png"))
    return table


_METRIC_NAMES = {"auroc": "auROC", "auprc": "auPRC", "accuracy": "accuracy"}


def plot_learning_curve(
    table: pd.DataFrame, path: str | os.PathLike, *, metric: str = "auroc", title: str | None = None
) -> Path:
    """Plot ``metric`` against ``n_train`` for each ``method`` of a learning-curve table; save a PNG.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``n_train``, ``method`` and ``metric`` (e.g. from :func:`transfer_showcase`).
    path : path
        PNG to write (atomically).
    metric : str, default "auroc"
    title : str, optional

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    for col in ("n_train", "method", metric):
        if col not in table:
            raise ValueError(f"table needs a {col!r} column; it has {list(table.columns)}")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method, df in table.groupby("method", sort=False):
        df = df.sort_values("n_train")
        ax.plot(df["n_train"], df[metric], marker="o", label=str(method))
    ax.set_xlabel("labelled training examples of the new task")
    ax.set_ylabel(f"test {_METRIC_NAMES.get(metric, metric)}")
    ax.set_xscale("log")
    ax.set_xticks(sorted(table["n_train"].unique()))
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_title(title or "Transfer learning: fine-tuning vs training from scratch", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------------
# graph convolution


def gcn_showcase(
    *,
    n_nodes: int = 2000,
    avg_degree: float = 8.0,
    n_features: int = 8,
    signal: float = 2.0,
    noise: float = 1.0,
    train_fraction: float = 0.3,
    valid_fraction: float = 0.2,
    hidden: Sequence[int] = (),
    dropout: float = 0.2,
    max_epochs: int = 300,
    patience: int = 30,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    random_state: int = 0,
    verbose: bool = False,
) -> pd.DataFrame:
    """GCN vs the same layers without the graph, where node labels depend on the neighbours.

    Data: :func:`genodeep.data.simulate.simulate_graph_labels` (label = majority hidden state of the
    neighbours; features show the node's own hidden state noisily). Transductive node classification:
    every node's features are seen, labels of ``train_fraction`` of the nodes train, ``valid_fraction``
    pick the epoch, the rest are the test set. Models: :class:`genodeep.models.GCN` with ``hidden`` on
    the normalised adjacency, and the same model on the identity adjacency (``MLP (no graph)``: every
    node on its own). Full-batch Adam with weight decay (as in Kipf & Welling).

    Parameters
    ----------
    n_nodes, avg_degree, n_features, signal, noise
        Simulation (see :func:`~genodeep.data.simulate.simulate_graph_labels`).
    train_fraction, valid_fraction : float
        Labelled node fractions.
    hidden : list of int
        Hidden features of the graph convolutions.
    dropout, max_epochs, patience, lr, weight_decay
        Training.
    random_state : int
    verbose : bool

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``uses_graph``, ``auroc``, ``accuracy``, ``auprc`` on the test
        nodes. ``table.attrs``: ``n_nodes``, ``n_edges``, ``n_test``.
    """
    rng = np.random.default_rng(random_state)
    sim = simulate_graph_labels(
        n_nodes,
        avg_degree=avg_degree,
        n_features=n_features,
        signal=signal,
        noise=noise,
        random_state=rng,
    )
    train, valid, test = split_indices(n_nodes, [train_fraction, valid_fraction], rng)
    masks = {}
    for name, idx in (("train", train), ("valid", valid), ("test", test)):
        m = torch.zeros(n_nodes, 1)
        m[torch.as_tensor(idx)] = 1.0
        masks[name] = m
    n = sim.graph.n_nodes
    eye = torch.eye(n).to_sparse()
    rows = []
    for name, graph in (("GCN", sim.graph), ("MLP (no graph)", eye)):
        torch.manual_seed(random_state)
        model = GCN(in_features=n_features, n_tasks=1, hidden=list(hidden), dropout=dropout, graph=graph,
                    self_loops=graph is not eye)  # fmt: skip
        opt = adam(model, lr, weight_decay)

        def train_epoch(model=model, opt=opt) -> None:
            opt.zero_grad()
            loss = bce(model(sim.features), sim.y, masks["train"])
            loss.backward()
            opt.step()

        def valid_loss(model=model) -> torch.Tensor:
            return bce(model(sim.features), sim.y, masks["valid"])

        early_stopping(
            model, train_epoch, valid_loss, max_epochs=max_epochs, patience=patience,
            verbose=verbose, desc=name,
        )  # fmt: skip
        with torch.no_grad():
            p = torch.sigmoid(model(sim.features))[test]
        y = sim.y[test]
        scores = auc_scores(y, p)
        acc = float(((p > 0.5).float() == y).float().mean())
        rows.append({"model": name, "uses_graph": graph is not eye, "auroc": scores["auroc"],
                     "accuracy": acc, "auprc": scores["auprc"]})  # fmt: skip
        if verbose:
            log(f"{name}: test auROC {scores['auroc']:.3f}, accuracy {acc:.3f}")
    table = pd.DataFrame(rows)
    table.attrs.update(n_nodes=n, n_edges=sim.graph.n_edges, n_test=len(test))
    return table
