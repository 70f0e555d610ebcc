"""Predictions of trained models: batched outputs, a run re-scored on a split, files of sequences or intervals."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._batching import predict
from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import check_choice
from genodeep.data.bundle import (
    DataBundle,
    Kind,
    Split,
    n_rows,
)
from genodeep.data.sources import build_data
from genodeep.io import Genome, read_bed, read_fasta
from genodeep.io.interval_bigwig import write_interval_bigwig
from genodeep.models.baselines import fit_baselines
from genodeep.models.spec import LINKS, ModelSpec, link_for
from genodeep.seq import one_hot
from genodeep.workflows.config import load_config
from genodeep.workflows.tables import markdown_table, metrics_table, summary_table, write_metrics
from genodeep.zoo import load


def default_loss(kind: Kind) -> str:
    return "bce" if kind == "binary" else "mse"


def predict_outputs(
    model: torch.nn.Module,
    X: torch.Tensor | Sequence[torch.Tensor],
    *,
    rows: np.ndarray | None = None,
    kind: Kind = "binary",
    loss: str | None = None,
    link: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Predictions ``(N, T)`` of ``model`` on ``X``: probabilities for binary tasks.

    Parameters
    ----------
    X : torch.Tensor (N, 4, L), or a tuple of input tensors with N rows each (``model(*X)``)
        Inputs. For a transductive graph model, the node features ``(n, F)`` of the whole graph.
    rows : np.ndarray int, optional
        Graph node tasks: the whole graph is one forward pass, and these rows of its output are
        returned.
    kind, loss, link
        The link from raw outputs to predictions (:data:`genodeep.models.spec.LINKS`): ``link``, or the
        one :func:`~genodeep.models.spec.link_for` gives ``kind`` and ``loss`` (sigmoid for binary).

    Models with a (profile, counts) output are scored by their counts head; models with a
    per-position output ``(N, T, L_out)`` by its mean over positions.
    """

    n_out = getattr(model, "n_tasks", 1)
    if rows is not None:
        # transductive graph: the whole graph in one forward pass, then this split's rows
        whole = predict(model, X, batch_size=n_rows(X), device=device)
        out = whole[torch.as_tensor(rows, dtype=torch.long)]
    elif n_rows(X) == 0:
        return np.zeros((0, n_out), dtype=np.float32)
    else:
        out = predict(model, X, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose)
    if isinstance(out, tuple):
        out = out[-1]
    if out.ndim == 3:
        out = out.mean(dim=-1)
    return LINKS[link or link_for(kind, loss)](out.float()).numpy().astype(np.float32)


def baseline_inputs(data: DataBundle, split: Split) -> torch.Tensor | None:
    """The one-hot sequences the k-mer baselines read (the sequence input of multimodal data), or
    ``None`` for data without sequences (graphs)."""
    if data.input_kind not in ("sequence", "multimodal"):
        return None
    return split.X[0] if isinstance(split.X, (tuple, list)) else split.X


def write_split_predictions(
    out_dir: Path, split: Split, task_names, predictions: Mapping[str, np.ndarray]
) -> None:

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


def baseline_predictions(
    data: DataBundle, part: Split, options: Mapping[str, Any], *, verbose: bool
):
    """k-mer baselines fitted on the train split's sequences, predicted on ``part`` (none without
    sequences)."""

    X_train, X_part = baseline_inputs(data, data.train), baseline_inputs(data, part)
    if X_train is None:
        log(f"baselines skipped: they read DNA sequences and this data is {data.input_kind}")
        return {}
    return fit_baselines(
        X_train, data.train.y, X_part, part.y, kind=data.kind, verbose=verbose, **options
    )


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
    pkg = load(run)
    spec = pkg.spec
    data = build_data(cfg["data"], verbose=verbose)
    if spec.task_names and list(spec.task_names) != list(data.task_names):
        raise ValueError(
            f"the model predicts tasks {spec.task_names} but the data has {data.task_names}; evaluate "
            "with data of the same tasks"
        )
    if spec.input_length and spec.input_length != data.input_length:
        if getattr(pkg.model, "input_length", None) is not None:
            raise ValueError(
                f"the model reads {spec.input_length} bp windows but the data has {data.input_length} bp"
            )
    part = data.split(split)
    name = spec.model_name or cfg["model"]["name"]
    preds = {
        name: predict_outputs(
            pkg.model,
            part.X,
            rows=part.rows,
            link=spec.link,
            batch_size=batch_size,
            device=device,
        )
    }
    if baselines:
        preds.update(baseline_predictions(data, part, cfg["baselines"] or {}, verbose=verbose))
    metrics = metrics_table(part.y, preds, kind=data.kind, task_names=data.task_names)
    out = Path(out_dir) if out_dir is not None else run / f"eval-{split}"
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(metrics, out / "metrics")
    write_split_predictions(out, part, data.task_names, preds)
    if verbose:
        log(markdown_table(summary_table(metrics)))
    return metrics


def _windows_from_bed(bed, genome, length: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(original intervals, model windows centred on them) from a BED file."""

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
    zoo_root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Predict with a saved model for the sequences of a FASTA file or the BED intervals of a genome.

    Parameters
    ----------
    model : path, zoo name or nn.Module
        Anything :func:`genodeep.zoo.load` resolves (run folder, package folder or archive, zoo model
        name; checksums verified), or a model (then outputs are raw).
    fasta : path, optional
        Sequences of the model's input length (or any length for length-agnostic models).
    bed, genome : paths, optional
        Intervals and the genome FASTA. Each interval is re-centred to a window of the model's input
        length; predictions are reported for (and, in bigWig output, span) the original interval.
    out : path, optional
        ``.tsv`` (one row per sequence/interval: the identifier columns, then one score column
        per task, named by the task), ``.npz`` (arrays ``y_hat`` (N, T), ``task_names``, and
        ``id`` or ``chrom/start/end``) or ``.bw``/``.bigwig`` (BED input
        only: one value per interval span; with several tasks, ``--task`` picks one, otherwise one
        file per task ``OUT.<task>.bw``; overlapping intervals are cut at the midpoint between their
        centres so every base carries the prediction of the nearest window).
    task : str, optional
        Task written to bigWig.
    batch_size, device, dtype, verbose
        Batched forward options.
    zoo_root : path, optional
        The zoo folder where a model name is looked up.

    Returns
    -------
    pandas.DataFrame
        Identifier columns, then one score column per task (probabilities for binary models, the
        link applied): for FASTA input ``id`` (the record name, the header's first word), for BED
        input ``chrom, start, end`` (and ``name`` when the BED has one). A task whose name is
        taken by an identifier column is written as ``score:<task>``.
    """
    if (fasta is None) == (bed is None):
        raise ValueError(
            "give exactly one input: fasta= (--fasta) or bed= with genome= (--bed --genome)"
        )
    if bed is not None and genome is None:
        raise ValueError("bed= needs genome= (--genome FASTA) to read the window sequences")
    if isinstance(model, torch.nn.Module):  # a bare model: raw outputs
        net, spec = model, ModelSpec.from_dict({"kind": "regression"}, model)
    else:
        pkg = load(model, root=zoo_root)
        net, spec = pkg.model, pkg.spec
    length = getattr(net, "input_length", None) or spec.input_length
    task_names = list(spec.task_names)
    if fasta is not None:
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
        ids = pd.DataFrame({"id": names})
        intervals = None
    else:
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
        link=spec.link,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    if y_hat.shape[1] != len(task_names):
        task_names = [f"task_{i}" for i in range(y_hat.shape[1])]
    table = ids.copy()
    for t, name in enumerate(task_names):
        table[f"score:{name}" if name in ids.columns else name] = y_hat[:, t]
    if out is not None:
        _write_prediction_file(Path(out), table, y_hat, task_names, ids, intervals, task, genome)
    return table


def _write_prediction_file(
    out: Path, table, y_hat, task_names, ids, intervals, task, genome
) -> None:

    suffix = out.suffix.lower()
    if out.name.lower().endswith((".tsv", ".tsv.gz", ".txt")):
        with atomic_write(out) as fh:
            table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    elif suffix == ".npz":
        arrays = {"y_hat": y_hat, "task_names": np.asarray(task_names)}
        for c in ids.columns:
            col = ids[c].to_numpy()
            # names as a unicode array: an object array would need np.load(allow_pickle=True)
            arrays[c] = col.astype(str) if col.dtype == object else col
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
    elif suffix in (".bw", ".bigwig"):
        if intervals is None:
            raise ValueError("bigWig output needs genomic intervals: use --bed with --genome")

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
