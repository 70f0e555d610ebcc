"""Config-driven training, evaluation and prediction: the API behind ``genodeep train/evaluate/predict``.

:func:`train_from_config` reads a config (see :mod:`genodeep.train.config`), builds the data through the
loader of its ``data.kind`` (:data:`DATA_KINDS`), the model through :func:`genodeep.models.build_model`,
trains it with :func:`genodeep.train.fit`, evaluates it on the held-out test split next to the k-mer
baselines, and writes everything into one run folder::

    RUN/
      config.yaml            the resolved config (absolute paths, filled-in n_tasks / input_length)
      metrics.tsv, .md       one row per (model, task): the deep model and every baseline
      predictions.tsv, .npz  test-split labels and predictions of every model
      history.tsv            per-epoch training curves
      plots/                 training_curves.png, roc.png, pr.png
      model/                 the trained model: weights.safetensors + config.json (+ data spec)
      checkpoints/           Lightning checkpoints (best, last) used by --resume

:func:`evaluate_run` re-scores a run folder on a split of its (or another) config, and
:func:`predict_file` applies a saved model to a FASTA file or to BED windows of a genome.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.train.config import (
    OutputOptions,
    _plain,
    dump_config,
    load_config,
    parameters,
    type_hints,
)

Kind = Literal["binary", "regression"]


# ==================================================================================================
# data


@dataclass
class Split:
    """One split of a data set.

    Attributes
    ----------
    X : torch.Tensor int8, shape (N, 4, L)
        One-hot sequences.
    y : np.ndarray float32, shape (N, T)
        Labels (NaN = missing).
    ids : pandas.DataFrame, N rows
        What each row is: ``chrom, start, end`` for genome windows, ``name`` for sequences.
    dataset : torch.utils.data.Dataset, optional
        The dataset to train on when it differs from ``(X, y)`` (augmentation on the fly).
    """

    X: torch.Tensor
    y: np.ndarray
    ids: pd.DataFrame
    dataset: Any = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def as_fit_data(self):
        """What :func:`genodeep.train.fit` trains on: the dataset, or the tuple ``(X, y)``."""
        if self.dataset is not None:
            return self.dataset
        return (self.X, torch.from_numpy(np.ascontiguousarray(self.y, dtype=np.float32)))


@dataclass
class DataBundle:
    """Train/valid/test splits plus what a model needs to know about them.

    Attributes
    ----------
    train, valid, test : Split
    task_names : list of str
        ``T`` names, one per label column.
    kind : {"binary", "regression"}
        Label type: decides the default loss, the metrics and the baselines.
    length : int
        Sequence length ``L``.
    genome : str, optional
        Genome FASTA the windows come from (genome data only).
    """

    train: Split
    valid: Split
    test: Split
    task_names: list[str]
    kind: Kind
    length: int
    genome: str | None = None

    def split(self, name: str) -> Split:
        check_choice("split", name, ("train", "valid", "test"))
        return getattr(self, name)


def _random_split(n: int, valid_fraction: float, test_fraction: float, random_state: int | None):
    """Row indices (train, valid, test) of a random split."""
    for name, f in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= f < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {f!r}")
    if valid_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"valid_fraction + test_fraction must be < 1 (got {valid_fraction} + {test_fraction}); "
            "leave some rows for training"
        )
    perm = np.random.default_rng(random_state).permutation(n)
    n_test = int(round(test_fraction * n))
    n_valid = int(round(valid_fraction * n))
    test = np.sort(perm[:n_test])
    valid = np.sort(perm[n_test : n_test + n_valid])
    train = np.sort(perm[n_test + n_valid :])
    return train, valid, test


def _infer_kind(y: np.ndarray) -> Kind:
    finite = y[~np.isnan(y)]
    return "binary" if np.isin(finite, (0.0, 1.0)).all() else "regression"


def _as_labels(y, n: int) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != n:
        raise ValueError(f"labels had {y.shape[0]} rows for {n} sequences")
    return y


def _subset(X: torch.Tensor, y: np.ndarray, ids: pd.DataFrame, idx: np.ndarray) -> Split:
    t = torch.as_tensor(idx, dtype=torch.long)
    return Split(X=X[t], y=y[idx], ids=ids.iloc[idx].reset_index(drop=True))


def load_genome_data(
    genome: str | os.PathLike,
    *,
    beds: Mapping[str, str | os.PathLike] | None = None,
    signal: Mapping[str, str | os.PathLike] | None = None,
    width: int = 200,
    stride: int | None = None,
    chroms: Sequence[str] | None = None,
    min_overlap: float = 0.5,
    relative_to: Literal["smaller", "window", "interval"] = "smaller",
    split: Literal["region", "chrom"] = "region",
    valid: str | Sequence[str] | None = None,
    test: str | Sequence[str] | None = None,
    boundary: Literal["drop", "centre"] = "drop",
    agg: Literal["mean", "sum", "max"] = "mean",
    log1p: bool = False,
    max_n_fraction: float = 0.1,
    train_negatives: float | None = None,
    rc_augment: bool = False,
    max_shift: int = 0,
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Fixed-width windows tiled over a genome, labelled by peaks (binary) or a signal (regression).

    Parameters
    ----------
    genome : path
        FASTA (plain, gzip or bgzip).
    beds : mapping task name -> BED path, optional
        One binary task per BED: a window is positive when a peak overlaps it by at least
        ``min_overlap`` of the smaller of the two (``relative_to``, see
        :func:`genodeep.data.multitask_labels`).
    signal : mapping task name -> bigWig/wiggle/bedGraph path, optional
        One regression task per track: the ``agg`` of the signal over each window (``log1p`` optional).
        Give ``beds`` or ``signal``, not both.
    width, stride : int
        Window width ``L`` and step (default ``width``, no overlap), see :func:`genodeep.data.tile_genome`.
    chroms : list of str, optional
        Chromosomes to tile (default all).
    split : {"region", "chrom"}
        Hold out regions (``valid``/``test`` = ``"chrom:start-end"``) or whole chromosomes
        (``valid``/``test`` = lists of names). ``boundary`` decides where windows straddling a
        region boundary go (:func:`genodeep.data.split_by_region`).
    max_n_fraction : float
        Windows with more than this fraction of N bases are dropped.
    train_negatives : float, optional
        Keep only this fraction of the training windows without any positive label (class balance;
        valid/test are never subsampled).
    rc_augment, max_shift : augmentation of the training windows (:class:`genodeep.data.GenomeDataset`).
    random_state : int, optional
        Seed of the negative subsampling and the augmentation.

    Returns
    -------
    DataBundle
        Splits with ``ids`` columns ``chrom, start, end``.
    """
    from genodeep.data import multitask_labels, split_by_chrom, split_by_region, tile_genome
    from genodeep.io import Genome
    from genodeep.seq import one_hot_codes

    check_positive("width", width)
    if (beds is None) == (signal is None):
        raise ValueError(
            "give exactly one of beds= (binary labels from peaks) or signal= (regression targets from "
            "tracks) for genome data"
        )
    g = Genome(genome)
    windows = tile_genome(g, int(width), stride=stride, chroms=chroms).reset_index(drop=True)
    windows = windows[["chrom", "start", "end"]].copy()
    codes = g.window_codes(windows["chrom"].tolist(), windows["start"].to_numpy(), int(width))
    n_frac = (codes >= 4).mean(axis=1)
    keep = n_frac <= max_n_fraction
    windows, codes = windows[keep].reset_index(drop=True), codes[keep]
    if len(windows) == 0:
        raise ValueError(
            f"no windows left with at most {max_n_fraction:.0%} N bases; check the genome"
        )
    if beds is not None:
        y, task_names = multitask_labels(
            windows, dict(beds), min_overlap=min_overlap, relative_to=relative_to
        )
        kind: Kind = "binary"
    else:
        from genodeep.io import read_signal

        cols = []
        for path in signal.values():
            track = read_signal(path)
            v = track.values(
                windows["chrom"].tolist(),
                windows["start"].to_numpy(),
                int(width),
                bin_size=int(width),
                agg=agg,
            )
            cols.append(np.asarray(v, dtype=np.float32).reshape(len(windows), -1)[:, 0])
        y = np.stack(cols, axis=1)
        if log1p:
            y = np.log1p(np.maximum(y, 0.0))
        task_names = list(signal)
        kind = "regression"
    y = np.asarray(y, dtype=np.float32)
    task_names = list(task_names)
    windows["_row"] = np.arange(len(windows))
    if split == "region":
        parts = split_by_region(windows, valid=valid, test=test, boundary=boundary)
    else:
        kw = {}
        if valid is not None:
            kw["valid"] = [valid] if isinstance(valid, str) else list(valid)
        if test is not None:
            kw["test"] = [test] if isinstance(test, str) else list(test)
        parts = split_by_chrom(windows, **kw)
    idx = {
        name: np.asarray(parts[name]["_row"], dtype=np.int64) for name in ("train", "valid", "test")
    }
    for name in ("train", "valid", "test"):
        if len(idx[name]) == 0:
            raise ValueError(
                f"the {name} split is empty: check valid={valid!r} and test={test!r} against the genome's "
                f"chromosomes {list(g.chrom_sizes)}"
            )
    if train_negatives is not None:
        if not 0.0 < train_negatives <= 1.0:
            raise ValueError(f"train_negatives must be in (0, 1], got {train_negatives!r}")
        tr = idx["train"]
        neg = np.nan_to_num(y[tr]).sum(axis=1) == 0
        rng = np.random.default_rng(random_state)
        keep_neg = rng.random(len(tr)) < train_negatives
        idx["train"] = tr[~neg | keep_neg]
    X = one_hot_codes(codes)
    ids = windows[["chrom", "start", "end"]]
    splits = {name: _subset(X, y, ids, i) for name, i in idx.items()}
    if rc_augment or max_shift:
        from genodeep.data import GenomeDataset

        tr_windows = ids.iloc[idx["train"]].reset_index(drop=True)
        splits["train"].dataset = GenomeDataset(
            g,
            tr_windows,
            y[idx["train"]],
            rc_augment=rc_augment,
            max_shift=max_shift,
            random_state=random_state,
        )
    if verbose:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
        log(f"genome windows of {width} bp: {sizes}; {len(task_names)} task(s)")
    return DataBundle(
        **splits, task_names=task_names, kind=kind, length=int(width), genome=os.fspath(genome)
    )


def load_fasta_data(
    fasta: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    valid_fasta: str | os.PathLike | None = None,
    valid_labels: str | os.PathLike | None = None,
    test_fasta: str | os.PathLike | None = None,
    test_labels: str | os.PathLike | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    kind: Literal["auto", "binary", "regression"] = "auto",
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Equal-length sequences from FASTA, labels from a table or the FASTA headers.

    Parameters
    ----------
    fasta : path
        Sequences (see :func:`genodeep.data.read_fasta_dataset` for the header label syntax).
    labels : path, optional
        Table of labels (one row per sequence name, one column per task).
    valid_fasta, test_fasta : path, optional
        Separate validation / test sets (with ``valid_labels`` / ``test_labels``); when absent the
        rows of ``fasta`` are split at random by ``valid_fraction`` / ``test_fraction``.
    kind : {"auto", "binary", "regression"}
        "auto": binary when every label is 0, 1 or NaN.
    random_state : int, optional
        Seed of the random split.

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``.
    """
    from genodeep.data import read_fasta_dataset

    def read(path, lab):
        X, y, names, tasks = _read_fasta_labelled(read_fasta_dataset, path, lab)
        return X, y, pd.DataFrame({"name": list(names)}), tasks

    X, y, ids, task_names = read(fasta, labels)
    if test_fasta is None or valid_fasta is None:
        tr, va, te = _random_split(
            len(X),
            0.0 if valid_fasta is not None else valid_fraction,
            0.0 if test_fasta is not None else test_fraction,
            random_state,
        )
    else:
        tr, va, te = np.arange(len(X)), np.arange(0), np.arange(0)
    splits = {
        "train": _subset(X, y, ids, tr),
        "valid": _subset(X, y, ids, va),
        "test": _subset(X, y, ids, te),
    }
    for name, path, lab in (
        ("valid", valid_fasta, valid_labels),
        ("test", test_fasta, test_labels),
    ):
        if path is not None:
            Xs, ys, ids_s, tasks_s = read(path, lab)
            if list(tasks_s) != list(task_names):
                raise ValueError(f"{name}_fasta has tasks {tasks_s} but fasta has {task_names}")
            splits[name] = Split(Xs, ys, ids_s)
    lengths = {s.X.shape[-1] for s in splits.values()}
    if len(lengths) != 1:
        raise ValueError(f"all sequences must have one length; found lengths {sorted(lengths)}")
    if kind == "auto":
        kind = _infer_kind(np.concatenate([s.y for s in splits.values()]))
    if verbose:
        log("fasta: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=list(task_names), kind=kind, length=lengths.pop())


def _read_fasta_labelled(reader: Callable, path, labels):
    """Call ``read_fasta_dataset`` and normalise its result to (X int8, y (N,T), names, task_names)."""
    tasks = None
    if labels is not None:
        from genodeep.data import labels_from_table

        labels = labels_from_table(labels)
        tasks = list(labels.attrs.get("tasks") or [c for c in labels.columns if c != "name"])
    out = reader(path, labels=labels)
    X, y, names = out[0], out[1], out[2]
    X = torch.as_tensor(X)
    if y is None:
        raise ValueError(
            f"{path}: no labels found; give labels= (a table) or put them in the FASTA headers"
        )
    if isinstance(y, pd.DataFrame):
        tasks = list(y.columns)
        y = y.to_numpy()
    y = _as_labels(y, X.shape[0])
    if tasks is None:
        tasks = [f"task_{i}" for i in range(y.shape[1])] if y.shape[1] > 1 else ["label"]
    return X.to(torch.int8), y, list(names), list(tasks)


def _simulators() -> dict[str, Callable]:
    from genodeep.seq import simulate_grammar, simulate_motif_presence

    return {"grammar": simulate_grammar, "presence": simulate_motif_presence}


#: simulator arguments the loader supplies itself (from ``motifs``/``names``/``random_state``).
_SIM_RESERVED = ("random_state", "verbose", "motifs", "motif_a", "motif_b", "names")


def load_simulated_data(
    *,
    simulate: Literal["grammar", "presence"] = "grammar",
    motifs: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    random_state: int | None = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> DataBundle:
    """Simulated sequences with planted motifs, split at random.

    Parameters
    ----------
    simulate : {"grammar", "presence"}
        :func:`genodeep.seq.simulate_grammar` (two motifs at a fixed spacing and order in positives,
        the same motifs at other spacings in negatives) or :func:`genodeep.seq.simulate_motif_presence`
        (one task per motif: present or absent).
    motifs : path, optional
        Motif file (MEME, JASPAR, PFM); default the motifs shipped with genodeep.
    names : list of str, optional
        Motifs to use (ID, name or "ID name"); default the first two (grammar) or all (presence).
    valid_fraction, test_fraction : float
        Fractions of the rows held out.
    random_state : int, optional
        Seed of the simulation and the split.
    **kwargs
        Other keyword arguments of the simulator: ``n``, ``length``, ``spacing``, ``order``, ``gc``,
        ``positive_fraction``, ``n_per_seq`` (see the simulator).

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``; task ``"grammar"`` or one task per motif.
    """
    from genodeep.io import read_motifs
    from genodeep.seq import one_hot

    sims = _simulators()
    check_choice("simulate", simulate, sims)
    func = sims[simulate]
    allowed = parameters(func, exclude=_SIM_RESERVED)
    for key in kwargs:
        if key not in allowed:
            raise ValueError(
                f"simulate={simulate!r} has no argument {key!r}; valid ones are: {', '.join(allowed)}"
            )
    if motifs is None:
        from genodeep import example_data

        motifs = example_data.motifs()
    pwms = read_motifs(motifs)
    if names:
        from genodeep.io.motifs import select_motifs

        pwms = select_motifs(pwms, list(names))
    if simulate == "grammar":
        if len(pwms) < 2 or (names and len(pwms) != 2):
            raise ValueError(
                f"simulate='grammar' needs exactly 2 motifs in names=, got {list(pwms)}"
            )
        (na, a), (nb, b) = list(pwms.items())[:2]
        seqs, y, _ = func(motif_a=a, motif_b=b, names=(na, nb), random_state=random_state, **kwargs)
        task_names = ["grammar"]
    else:
        seqs, y, _ = func(motifs=pwms, random_state=random_state, **kwargs)
        task_names = list(pwms)
    X = one_hot(list(seqs)).to(torch.int8)
    y = _as_labels(y, X.shape[0])
    ids = pd.DataFrame({"name": [f"seq{i}" for i in range(len(X))]})
    tr, va, te = _random_split(len(X), valid_fraction, test_fraction, random_state)
    splits = {
        "train": _subset(X, y, ids, tr),
        "valid": _subset(X, y, ids, va),
        "test": _subset(X, y, ids, te),
    }
    if verbose:
        log(f"simulated {simulate}: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=task_names, kind="binary", length=int(X.shape[-1]))


#: ``data.kind`` -> loader; the config's ``data:`` keys are the loader's keyword arguments.
DATA_KINDS: dict[str, Callable[..., DataBundle]] = {
    "genome": load_genome_data,
    "fasta": load_fasta_data,
    "simulate": load_simulated_data,
}


def loader_parameters(kind: str, section: Mapping[str, Any] | None = None):
    """(parameters, type hints) a ``data:`` section of this kind accepts (read from the signatures)."""
    check_choice("kind", kind, DATA_KINDS)
    loader = DATA_KINDS[kind]
    params = parameters(loader, exclude=("verbose",))
    hints = type_hints(loader)
    if kind == "simulate":
        sims = _simulators()
        which = (section or {}).get("simulate", "grammar")
        if which in sims:
            func = sims[which]
            params = {**params, **parameters(func, exclude=(*_SIM_RESERVED, *params))}
            hints = {**type_hints(func), **hints}
    return params, hints


def build_data(data: Mapping[str, Any], *, verbose: bool = False) -> DataBundle:
    """Build the splits described by a validated ``data:`` section."""
    section = dict(data)
    kind = section.pop("kind")
    check_choice("data.kind", kind, DATA_KINDS)
    return DATA_KINDS[kind](**section, verbose=verbose)


# ==================================================================================================
# model, training, baselines


#: arguments of ``fit`` that train_from_config supplies itself (data, folders, task names, callbacks).
_FIT_SUPPLIED = (
    "model",
    "train_data",
    "valid_data",
    "out_dir",
    "resume",
    "verbose",
    "task_names",
    "callbacks",
)


def fit_parameters():
    """(parameters, type hints) of :func:`genodeep.train.fit` that a ``training:`` section may set."""
    from genodeep.train.fit import fit

    params = parameters(fit, skip_positional=3, exclude=_FIT_SUPPLIED)
    return params, type_hints(fit)


def baseline_parameters():
    """(parameters, type hints) of :func:`fit_baselines` that a ``baselines:`` section may set."""
    from genodeep.models.baselines import fit_baselines

    params = parameters(fit_baselines, skip_positional=4, exclude=("kind", "verbose"))
    return params, type_hints(fit_baselines)


def build_model_from_config(model: Mapping[str, Any], *, n_tasks: int, input_length: int):
    """``build_model(name, **kwargs)``, filling ``n_tasks`` and ``input_length`` from the data.

    A value given in the config that contradicts the data raises ``ValueError``.
    """
    from genodeep.models import MODELS, build_model

    kwargs = dict(model)
    name = kwargs.pop("name")
    check_choice("model.name", name, MODELS)
    accepted = parameters(MODELS[name])
    for key, value in (("n_tasks", n_tasks), ("input_length", input_length)):
        if key in accepted:
            given = kwargs.get(key)
            if given is not None and int(given) != value:
                raise ValueError(
                    f"model.{key}={given} does not match the data ({value}); remove the key to take it "
                    "from the data"
                )
            kwargs[key] = value
    return build_model(name, **kwargs)


def _default_loss(kind: Kind) -> str:
    return "bce" if kind == "binary" else "mse"


def output_transform(kind: Kind, loss: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Map raw model outputs to predictions: sigmoid for binary logits, exp for a Poisson log-rate."""
    if kind == "binary":
        return torch.sigmoid
    if loss is not None and str(loss).lower().startswith("poisson"):
        return torch.exp
    return lambda t: t


def predict_outputs(
    model: torch.nn.Module,
    X: torch.Tensor,
    *,
    kind: Kind = "binary",
    loss: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Predictions ``(N, T)`` of ``model`` on ``X`` (N, 4, L): probabilities for binary tasks.

    Models with a (profile, counts) output are scored by their counts head; models with a
    per-position output ``(N, T, L_out)`` by its mean over positions.
    """
    from genodeep._batching import predict

    if len(X) == 0:
        return np.zeros((0, getattr(model, "n_tasks", 1)), dtype=np.float32)
    out = predict(model, X, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose)
    if isinstance(out, tuple):
        out = out[-1]
    if out.ndim == 3:
        out = out.mean(dim=-1)
    return output_transform(kind, loss)(out.float()).numpy().astype(np.float32)


# ==================================================================================================
# metrics tables


def metrics_table(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    kind: Kind,
    task_names: Sequence[str],
) -> pd.DataFrame:
    """One metrics table for several models on the same labels.

    Parameters
    ----------
    y_true : np.ndarray (N, T)
        Labels (NaN = missing; masked per task).
    predictions : mapping model name -> np.ndarray (N, T)
        The deep model's and the baselines' predictions.

    Returns
    -------
    pandas.DataFrame
        :func:`genodeep.train.evaluate_predictions`' table per model, with a leading ``model`` column.
    """
    from genodeep.train.metrics import evaluate_predictions

    tables = []
    for name, y_pred in predictions.items():
        df = evaluate_predictions(
            np.asarray(y_true), np.asarray(y_pred), kind=kind, task_names=list(task_names)
        )
        df = df.reset_index() if df.index.name is not None else df
        df.insert(0, "model", name)
        tables.append(df)
    return pd.concat(tables, ignore_index=True)


def markdown_table(df: pd.DataFrame, *, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table of ``df`` (floats formatted with ``floatfmt``)."""

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "nan" if np.isnan(v) else format(float(v), floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``df`` as ``PATH.tsv`` and ``PATH.md`` (``path`` without or with either suffix)."""
    from genodeep._io_utils import atomic_write

    base = Path(path)
    if base.suffix in (".tsv", ".md"):
        base = base.with_suffix("")
    tsv, md = base.with_suffix(".tsv"), base.with_suffix(".md")
    with atomic_write(tsv) as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    with atomic_write(md) as fh:
        fh.write(markdown_table(df))
    return tsv, md


def write_metrics(metrics: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a :func:`metrics_table` as ``PATH.tsv`` (every row) and ``PATH.md``.

    The markdown leaves out the ``mean`` rows when every model has a single task (they repeat it).
    """
    tsv, md = write_table(metrics, path)
    if (
        "task" in metrics.columns
        and (metrics["task"] != "mean").groupby(metrics["model"]).sum().max() == 1
    ):
        from genodeep._io_utils import atomic_write

        with atomic_write(md) as fh:
            fh.write(markdown_table(metrics[metrics["task"] != "mean"]))
    return tsv, md


# ==================================================================================================
# saving and loading models


def save_model(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    data_spec: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a trained model as a package folder: ``weights.safetensors`` + ``config.json`` (+ spec).

    Parameters
    ----------
    model : genodeep model
        A model with a JSON-serialisable ``config`` of its constructor arguments.
    path : path
        Output folder (replaced if it exists).
    data_spec : mapping, optional
        ``sequence_length``, ``task_names``, ``kind``, ``genome`` ... what the model reads.
    metadata : mapping, optional
        Training settings and metrics.

    Returns
    -------
    Path of the folder. Load it again with :func:`load_model` (or :func:`genodeep.zoo.load`).
    """
    from genodeep.zoo import save_package

    return save_package(
        model,
        path,
        data_spec=_plain(dict(data_spec or {})),
        metadata=_plain(dict(metadata or {})),
        overwrite=True,
    )


def load_model(path: str | os.PathLike):
    """Load a model saved by :func:`save_model`: a run folder (its ``model/``), the package folder or
    a package archive (``.tar.gz``).

    Returns
    -------
    genodeep.zoo.Package
        ``.model`` (eval mode, CPU), ``.data_spec``, ``.metadata``.
    """
    from genodeep.zoo import load

    p = Path(path)
    if (p / "model" / "config.json").exists():
        p = p / "model"
    if not p.exists():
        raise FileNotFoundError(f"model not found: {p}")
    if p.is_file():  # a package archive (.tar.gz)
        return load(p)
    if not (p / "config.json").exists():
        raise FileNotFoundError(
            f"{p} holds no saved model (no config.json); point to a run folder written by "
            "`genodeep train` or to its model/ folder"
        )
    return load(p)


# ==================================================================================================
# train_from_config


@dataclass
class TrainResult:
    """What :func:`train_from_config` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (best checkpoint when early stopping kept one).
    metrics : pandas.DataFrame
        Test-split metrics, one row per (model, task) — the deep model and the baselines.
    predictions : dict[str, np.ndarray (N_test, T)]
        Test-split predictions per model.
    history : pandas.DataFrame
        Per-epoch training curves.
    out_dir : Path
        The run folder.
    config : dict
        The resolved config.
    data : DataBundle
        The splits used.
    """

    model: torch.nn.Module
    metrics: pd.DataFrame
    predictions: dict[str, np.ndarray]
    history: pd.DataFrame
    out_dir: Path
    config: dict
    data: DataBundle = field(repr=False)


def _write_predictions(
    out_dir: Path, split: Split, task_names, predictions: Mapping[str, np.ndarray]
) -> None:
    from genodeep._io_utils import atomic_path, atomic_write

    df = split.ids.copy()
    for t, task in enumerate(task_names):
        df[f"true:{task}"] = split.y[:, t]
    for name, pred in predictions.items():
        for t, task in enumerate(task_names):
            df[f"{name}:{task}"] = pred[:, t]
    with atomic_write(out_dir / "predictions.tsv") as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    arrays = {"y_true": split.y, "task_names": np.asarray(task_names)}
    arrays.update({f"pred_{name}": np.asarray(p) for name, p in predictions.items()})
    with atomic_path(out_dir / "predictions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _write_plots(out_dir: Path, y_true, predictions, task_names, history, kind, name) -> list[Path]:
    """Training curves, and ROC/PR curves on the test split (binary tasks).

    With one task, every model (deep and baselines) is a curve of the same plot; with several, the
    curves are the deep model's tasks. A plotting problem never fails a finished run (warning).
    """
    import warnings

    from genodeep.train.plots import plot_pr_curves, plot_roc_curves, plot_training_curves

    plots_dir = out_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    calls: list[tuple[Callable, tuple, dict, Path]] = []
    if history is not None and len(history):
        calls.append(
            (plot_training_curves, (history,), {"title": name}, plots_dir / "training_curves.png")
        )
    if kind == "binary" and len(y_true):
        y_true = np.asarray(y_true)
        if y_true.shape[1] == 1 and len(predictions) > 1:
            names = list(predictions)
            yt = np.repeat(y_true, len(names), axis=1)
            ys = np.concatenate([np.asarray(predictions[m]) for m in names], axis=1)
        else:
            names, yt, ys = list(task_names), y_true, np.asarray(predictions[name])
        for fn, fname in ((plot_roc_curves, "roc.png"), (plot_pr_curves, "pr.png")):
            calls.append((fn, (yt, ys), {"task_names": names}, plots_dir / fname))
    written = []
    for fn, args, kw, path in calls:
        try:
            written.append(fn(*args, path, **kw))
        except Exception as err:  # noqa: BLE001 - a plot must not lose a trained model
            warnings.warn(f"could not write {path}: {err}", stacklevel=2)
    return written


def _is_global_zero(result) -> bool:
    """Whether this process is rank 0 of the (possibly distributed) training run."""
    trainer = getattr(getattr(result, "task", None), "_trainer", None)
    if trainer is not None:
        return bool(trainer.is_global_zero)
    rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))
    return int(rank) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0


def _history_frame(history) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame()
    if isinstance(history, pd.DataFrame):
        return history
    return pd.DataFrame(history)


def train_from_config(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    out_dir: str | os.PathLike | None = None,
    baselines: bool | None = None,
    resume: bool = False,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    callbacks: Sequence[Any] | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Train, evaluate and save a model described by a config file (the API of ``genodeep train``).

    Parameters
    ----------
    config : path to a YAML file, or a mapping
        Sections ``data``, ``model``, ``training``, ``baselines``, ``output``
        (see :mod:`genodeep.train.config`).
    out_dir : path, optional
        Run folder; default ``output.dir`` of the config, else ``runs/<config name>``.
    baselines : bool, optional
        ``True`` runs the k-mer baselines even when the config has no ``baselines:`` section (with
        its defaults); ``False`` skips them; ``None`` follows the config.
    resume : bool
        Continue an interrupted run from the last checkpoint in ``out_dir``.
    overrides : mapping or list of "KEY=VALUE", optional
        Dotted config keys to override, e.g. ``{"training.max_epochs": 2}``.
    callbacks : sequence of lightning callbacks, optional
        Passed to :func:`genodeep.train.fit` (``genodeep tune`` uses one to prune trials).
    verbose : bool
        Status lines and progress bars.

    Returns
    -------
    TrainResult
    """
    from genodeep.train.fit import fit

    cfg = load_config(config, overrides=overrides)
    output = OutputOptions(**cfg["output"])
    if out_dir is None:
        if output.dir is not None:
            out_dir = output.dir
        else:
            stem = Path(config).stem if isinstance(config, (str, os.PathLike)) else "run"
            out_dir = Path("runs") / stem
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if baselines is True and cfg["baselines"] is None:
        cfg["baselines"] = {}
    elif baselines is False:
        cfg["baselines"] = None

    training = dict(cfg["training"])
    torch.manual_seed(int(training.get("random_state", 0)))  # the model's initial weights
    data = build_data(cfg["data"], verbose=verbose)
    model = build_model_from_config(
        cfg["model"], n_tasks=len(data.task_names), input_length=data.length
    )
    resolved_model = {"name": cfg["model"]["name"], **model.config}
    training.setdefault("loss", _default_loss(data.kind))
    resolved = {**cfg, "model": resolved_model, "training": training}
    resolved["output"] = {**cfg["output"], "dir": str(out_dir.resolve())}
    dump_config(resolved, out_dir / "config.yaml")
    if verbose:
        log(
            f"{resolved_model['name']}: {model.n_params:,} parameters, {len(data.task_names)} task(s), "
            f"{data.kind}; train {len(data.train)}, valid {len(data.valid)}, test {len(data.test)}"
        )

    result = fit(
        model,
        data.train.as_fit_data(),
        data.valid.as_fit_data() if len(data.valid) else None,
        out_dir=out_dir / "checkpoints",
        resume=resume,
        verbose=verbose,
        task_names=data.task_names,
        callbacks=callbacks,
        **training,
    )
    model = result.model
    history = _history_frame(getattr(result, "history", None))
    if not _is_global_zero(result):
        # a DDP worker (plain "ddp" re-runs this command per process): rank 0 evaluates and writes
        return TrainResult(
            model=model,
            metrics=pd.DataFrame(),
            predictions={},
            history=history,
            out_dir=out_dir,
            config=resolved,
            data=data,
        )
    if len(history):
        from genodeep._io_utils import atomic_write

        with atomic_write(out_dir / "history.tsv") as fh:
            history.to_csv(fh, sep="\t", index=False, float_format="%.6g")

    name = resolved_model["name"]
    preds = {
        name: predict_outputs(
            model,
            data.test.X,
            kind=data.kind,
            loss=training.get("loss"),
            batch_size=training.get("batch_size", 256),
        )
    }
    if cfg["baselines"] is not None:
        from genodeep.models.baselines import fit_baselines

        preds.update(
            fit_baselines(
                data.train.X,
                data.train.y,
                data.test.X,
                data.test.y,
                kind=data.kind,
                verbose=verbose,
                **cfg["baselines"],
            )
        )
    metrics = metrics_table(data.test.y, preds, kind=data.kind, task_names=data.task_names)
    write_metrics(metrics, out_dir / "metrics")
    if output.predictions:
        _write_predictions(out_dir, data.test, data.task_names, preds)
    if output.plots:
        _write_plots(out_dir, data.test.y, preds, data.task_names, history, data.kind, name)
    if output.save_model:
        save_model(
            model,
            out_dir / "model",
            data_spec={
                "sequence_length": data.length,
                "task_names": data.task_names,
                "kind": data.kind,
                "loss": training.get("loss"),
                "genome": data.genome,
                "model_name": name,
            },
            metadata={
                "description": cfg.get("description", ""),
                "training": training,
                "metrics": _summary(metrics, name),
            },
        )
    if verbose:
        log(f"wrote {out_dir}/metrics.md")
        log(markdown_table(summary_table(metrics)))
    return TrainResult(
        model=model,
        metrics=metrics,
        predictions=preds,
        history=history,
        out_dir=out_dir,
        config=resolved,
        data=data,
    )


def _metric_columns(metrics: pd.DataFrame) -> list[str]:
    skip = {"model", "task", "n", "n_pos", "note"}
    return [
        c for c in metrics.columns if c not in skip and pd.api.types.is_numeric_dtype(metrics[c])
    ]


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model: its macro mean over tasks (the ``mean`` rows of :func:`metrics_table`)."""
    cols = _metric_columns(metrics)
    if "task" in metrics.columns and (metrics["task"] == "mean").any():
        out = metrics[metrics["task"] == "mean"]
    else:
        out = metrics.groupby("model", sort=False)[cols].mean().reset_index()
    return out[["model", *cols]].reset_index(drop=True)


def _summary(metrics: pd.DataFrame, name: str) -> dict[str, float]:
    row = summary_table(metrics)
    row = row[row["model"] == name]
    if row.empty:
        return {}
    return {c: float(row[c].iloc[0]) for c in _metric_columns(metrics)}


# ==================================================================================================
# evaluate a run


def evaluate_run(
    run: str | os.PathLike,
    *,
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    split: Literal["train", "valid", "test"] = "test",
    out_dir: str | os.PathLike | None = None,
    baselines: bool = False,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Score a trained run on a split of its data (or of another config's data).

    Parameters
    ----------
    run : path
        Run folder written by :func:`train_from_config` (or a saved model folder, with ``config``).
    config : path or mapping, optional
        Config whose ``data:`` section gives the data; default the run's ``config.yaml``.
    split : {"train", "valid", "test"}
        Which split to score.
    out_dir : path, optional
        Where to write ``metrics.tsv``/``.md`` and predictions; default ``RUN/eval-<split>``.
    baselines : bool
        Also fit the k-mer baselines (on the train split) and score them on the same split.

    Returns
    -------
    pandas.DataFrame
        The metrics table (see :func:`metrics_table`).
    """
    check_choice("split", split, ("train", "valid", "test"))
    run = Path(run)
    if config is None:
        config = run / "config.yaml"
        if not Path(config).exists():
            raise FileNotFoundError(f"{run} has no config.yaml; pass config= (--data CONFIG)")
    cfg = load_config(config)
    pkg = load_model(run)
    spec = pkg.data_spec
    data = build_data(cfg["data"], verbose=verbose)
    trained_tasks = spec.get("task_names")
    if trained_tasks and list(trained_tasks) != list(data.task_names):
        raise ValueError(
            f"the model predicts tasks {trained_tasks} but the data has {data.task_names}; evaluate with "
            "data of the same tasks"
        )
    if spec.get("sequence_length") and int(spec["sequence_length"]) != data.length:
        if getattr(pkg.model, "input_length", None) is not None:
            raise ValueError(
                f"the model reads {spec['sequence_length']} bp windows but the data has {data.length} bp"
            )
    part = data.split(split)
    name = spec.get("model_name") or cfg["model"]["name"]
    kind = spec.get("kind", data.kind)
    preds = {
        name: predict_outputs(
            pkg.model,
            part.X,
            kind=kind,
            loss=spec.get("loss"),
            batch_size=batch_size,
            device=device,
        )
    }
    if baselines:
        from genodeep.models.baselines import fit_baselines

        opts = cfg["baselines"] or {}
        preds.update(
            fit_baselines(
                data.train.X, data.train.y, part.X, part.y, kind=data.kind, verbose=verbose, **opts
            )
        )
    metrics = metrics_table(part.y, preds, kind=data.kind, task_names=data.task_names)
    out = Path(out_dir) if out_dir is not None else run / f"eval-{split}"
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(metrics, out / "metrics")
    _write_predictions(out, part, data.task_names, preds)
    if verbose:
        log(markdown_table(summary_table(metrics)))
    return metrics


# ==================================================================================================
# predict from files


def _windows_from_bed(bed, genome, length: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(original intervals, model windows centred on them) from a BED file."""
    from genodeep.io import Genome, read_bed

    g = genome if not isinstance(genome, (str, os.PathLike)) else Genome(genome)
    df = read_bed(bed, genome=g).reset_index(drop=True)
    if len(df) == 0:
        raise ValueError(f"{bed}: no intervals")
    widths = (df["end"] - df["start"]).to_numpy()
    if length is None:
        if len(set(widths.tolist())) != 1:
            raise ValueError(
                f"{bed}: intervals have different widths and the model accepts any length; give "
                "intervals of one width"
            )
        length = int(widths[0])
    centre = (df["start"].to_numpy() + df["end"].to_numpy()) // 2
    starts = centre - length // 2
    win = pd.DataFrame({"chrom": df["chrom"].to_numpy(), "start": starts, "end": starts + length})
    return df, win


def predict_file(
    model: str | os.PathLike | torch.nn.Module,
    *,
    fasta: str | os.PathLike | None = None,
    bed: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    task: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Predict with a saved model for the sequences of a FASTA file or the BED intervals of a genome.

    Parameters
    ----------
    model : path or SequenceModel
        A run folder / model folder written by ``genodeep train`` (or a model; then outputs are raw).
    fasta : path, optional
        Sequences of the model's input length (or any length for length-agnostic models).
    bed, genome : paths, optional
        Intervals and the genome FASTA. Each interval is re-centred to a window of the model's input
        length; predictions are reported for (and, in bigWig output, span) the original interval.
    out : path, optional
        ``.tsv`` (one row per sequence/interval, one column per task), ``.npz`` (arrays ``y_hat``
        (N, T), ``task_names``, ``names`` or ``chrom/start/end``) or ``.bw``/``.bigwig`` (BED input
        only: one value per interval span; with several tasks, ``--task`` picks one, otherwise one
        file per task ``OUT.<task>.bw``; overlapping intervals are cut at the midpoint between their
        centres so every base carries the prediction of the nearest window).
    task : str, optional
        Task written to bigWig.
    batch_size, device, dtype, verbose
        Batched forward options.

    Returns
    -------
    pandas.DataFrame
        Identifier columns (``name`` or ``chrom, start, end``) and one column per task.
    """
    if (fasta is None) == (bed is None):
        raise ValueError(
            "give exactly one input: fasta= (--fasta) or bed= with genome= (--bed --genome)"
        )
    if bed is not None and genome is None:
        raise ValueError("bed= needs genome= (--genome FASTA) to read the window sequences")
    if isinstance(model, torch.nn.Module):
        net, spec = model, {}
    else:
        pkg = load_model(model)
        net, spec = pkg.model, pkg.data_spec
    length = getattr(net, "input_length", None) or spec.get("sequence_length")
    task_names = list(
        spec.get("task_names") or [f"task_{i}" for i in range(getattr(net, "n_tasks", 1))]
    )
    kind = spec.get("kind", "regression" if not spec else "binary")
    if isinstance(model, torch.nn.Module):
        transform_kind: Kind = "regression"
    else:
        transform_kind = kind
    if fasta is not None:
        from genodeep.io import read_fasta
        from genodeep.seq import one_hot

        records = read_fasta(fasta)
        names = list(records)
        seqs = [records[n] for n in names]
        if not seqs:
            raise ValueError(f"{fasta}: no sequences")
        lens = {len(s) for s in seqs}
        want = getattr(net, "input_length", None)
        if want is not None and lens != {int(want)}:
            raise ValueError(
                f"{fasta}: the model reads sequences of {want} bp; found lengths {sorted(lens)[:5]}"
            )
        if len(lens) != 1:
            raise ValueError(
                f"{fasta}: sequences must have one length to be batched; found {sorted(lens)[:5]}"
            )
        X = one_hot(seqs)
        ids = pd.DataFrame({"name": names})
        intervals = None
    else:
        from genodeep.io import Genome

        g = Genome(genome)
        intervals, win = _windows_from_bed(bed, g, length)
        X = g.one_hot(
            win["chrom"].tolist(),
            win["start"].to_numpy(),
            int(win["end"].iloc[0] - win["start"].iloc[0]),
        )
        ids = intervals[["chrom", "start", "end"]].copy()
        if "name" in intervals.columns:
            ids["name"] = intervals["name"].to_numpy()
    y_hat = predict_outputs(
        net,
        X,
        kind=transform_kind,
        loss=spec.get("loss"),
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    if y_hat.shape[1] != len(task_names):
        task_names = [f"task_{i}" for i in range(y_hat.shape[1])]
    table = ids.copy()
    for t, name in enumerate(task_names):
        table[name] = y_hat[:, t]
    if out is not None:
        _write_prediction_file(Path(out), table, y_hat, task_names, ids, intervals, task, genome)
    return table


def _write_prediction_file(
    out: Path, table, y_hat, task_names, ids, intervals, task, genome
) -> None:
    from genodeep._io_utils import atomic_path, atomic_write

    suffix = out.suffix.lower()
    if out.name.lower().endswith((".tsv", ".tsv.gz", ".txt")):
        with atomic_write(out) as fh:
            table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    elif suffix == ".npz":
        arrays = {"y_hat": y_hat, "task_names": np.asarray(task_names)}
        for c in ids.columns:
            arrays[c] = ids[c].to_numpy()
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
    elif suffix in (".bw", ".bigwig"):
        if intervals is None:
            raise ValueError("bigWig output needs genomic intervals: use --bed with --genome")
        from genodeep.io import Genome

        sizes = Genome(genome).chrom_sizes
        if task is not None:
            if task not in task_names:
                raise ValueError(
                    f"task={task!r} is not one of the model's tasks: {', '.join(task_names)}"
                )
            targets = {task: out}
        elif len(task_names) == 1:
            targets = {task_names[0]: out}
        else:
            stem = out.name[: -len(out.suffix)]
            targets = {t: out.with_name(f"{stem}.{t}{out.suffix}") for t in task_names}
        for t, path in targets.items():
            write_interval_bigwig(path, ids, y_hat[:, task_names.index(t)], sizes)
    else:
        raise ValueError(f"out={os.fspath(out)!r}: use a .tsv, .npz or .bw (bigWig) file name")


def interval_spans(chroms, starts, ends) -> pd.DataFrame:
    """Non-overlapping spans for per-interval values, sorted by chromosome and start.

    Where consecutive intervals (sorted by start) overlap, the boundary is the midpoint between their
    centres (clipped to the overlap), so each base takes the value of the interval whose centre is
    nearest. Meant for windows of one width (tiles, re-centred peaks); an interval nested in the
    previous one ends that one at their boundary.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end, row`` (``row`` = index of the input interval), empty spans dropped.
    """
    df = pd.DataFrame(
        {
            "chrom": np.asarray(chroms),
            "start": np.asarray(starts, dtype=np.int64),
            "end": np.asarray(ends, dtype=np.int64),
        }
    )
    df["row"] = np.arange(len(df))
    df = df.sort_values(["chrom", "start", "end", "row"], kind="stable").reset_index(drop=True)
    out = []
    for _, sub in df.groupby("chrom", sort=False):
        s0, e0 = sub["start"].to_numpy(), sub["end"].to_numpy()
        s, e = s0.copy(), e0.copy()
        for i in range(len(s) - 1):
            if e[i] > s[i + 1]:
                mid = (s0[i] + e0[i] + s0[i + 1] + e0[i + 1]) // 4  # between the original centres
                cut = min(max(mid, s[i + 1]), e[i])
                e[i] = cut
                s[i + 1] = max(s[i + 1], cut)
        spans = sub.assign(start=s, end=e)
        out.append(spans[spans["end"] > spans["start"]])
    return pd.concat(out, ignore_index=True) if out else df.iloc[:0]


def write_interval_bigwig(
    path, ids: pd.DataFrame, values: np.ndarray, chrom_sizes: Mapping[str, int]
) -> Path:
    """Write one value per interval (``ids``: chrom, start, end) to a bigWig, atomically."""
    from genodeep._io_utils import atomic_path
    from genodeep._validate import require

    pyBigWig = require("pyBigWig", "bigwig")
    spans = interval_spans(ids["chrom"], ids["start"], ids["end"])
    order = [c for c in chrom_sizes if c in set(spans["chrom"])]
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(tmp, "w")
        try:
            bw.addHeader([(c, int(chrom_sizes[c])) for c in chrom_sizes])
            for c in order:
                sub = spans[spans["chrom"] == c]
                bw.addEntries(
                    [c] * len(sub),
                    sub["start"].astype(int).tolist(),
                    ends=sub["end"].astype(int).tolist(),
                    values=[float(values[r]) for r in sub["row"]],
                )
        finally:
            bw.close()
    return Path(path)
