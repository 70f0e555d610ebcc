"""The file-level jobs of interpretation: ``genodeep interpret`` (attributions of the sequences of a file).

:func:`interpret_to_files` loads a model package (:func:`genodeep.zoo.load`) and sequences (FASTA, or
BED intervals of a genome, :func:`load_sequences`), runs :func:`genodeep.interpret.attribute`, and
writes ``attributions.npz`` plus logos and ISM heatmaps of the top sequences.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._batching import predict
from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.interpret._targets import select_output
from genodeep.interpret.api import ATTRIBUTION_METHODS, Attributions, attribute, resolve_target
from genodeep.interpret.plots import save_attribution_logo, save_ism_heatmap
from genodeep.io import Genome, read_bed, read_fasta
from genodeep.seq import one_hot
from genodeep.zoo import Package, load

__all__ = ["interpret_to_files", "as_package", "load_sequences"]


def as_package(model: str | os.PathLike | nn.Module | Package) -> Package:
    """The package of ``model``: a path resolved by :func:`genodeep.zoo.load`, a module wrapped as it is,
    or a package as given.

    Parameters
    ----------
    model : path, torch.nn.Module or genodeep.zoo.Package
        Package folder / ``.tar.gz`` written by :func:`genodeep.zoo.save_package`, or a run folder
        holding ``model/``.

    Returns
    -------
    genodeep.zoo.Package
        ``.model`` (eval mode), ``.data_spec``, ``.metadata``.
    """
    if isinstance(model, Package):
        return model
    if isinstance(model, nn.Module):
        return Package(model=model)
    return load(model)


_BED_SUFFIXES = (".bed", ".bed.gz", ".narrowpeak", ".narrowpeak.gz", ".broadpeak", ".broadpeak.gz")


def load_sequences(
    sequences: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    length: int | None = None,
) -> tuple[torch.Tensor, list[str]]:
    """One-hot sequences from a FASTA file, or from BED intervals of a genome.

    Parameters
    ----------
    sequences : path
        FASTA (plain or gzip) of sequences of one length, or a BED/narrowPeak file (needs ``genome``).
    genome : path, optional
        Genome FASTA for BED input.
    length : int, optional
        Length the model needs. FASTA sequences must have it; BED intervals are re-centred to windows
        of this length (by default the intervals' own width, which must then be the same for all).

    Returns
    -------
    X : torch.Tensor int8, shape (N, 4, L)
    names : list of str
        FASTA record names, or ``chrom:start-end`` of each BED interval (its name when it has one).
    """
    path = os.fspath(sequences)
    is_bed = path.lower().endswith(_BED_SUFFIXES)
    if is_bed or genome is not None:
        if genome is None:
            raise ValueError(
                f"sequences={path!r} looks like a BED file and needs genome= (--genome FASTA) to "
                "read the window sequences"
            )
        g = Genome(genome)
        df = read_bed(path, genome=g).reset_index(drop=True)
        if len(df) == 0:
            raise ValueError(f"{path}: no intervals")
        widths = (df["end"] - df["start"]).to_numpy()
        if length is None:
            if len(set(widths.tolist())) != 1:
                raise ValueError(
                    f"{path}: intervals have different widths ({sorted(set(widths.tolist()))[:5]}) "
                    "and the model accepts any length; give intervals of one width"
                )
            length = int(widths[0])
        centre = (df["start"].to_numpy() + df["end"].to_numpy()) // 2
        starts = centre - int(length) // 2
        X = g.one_hot(df["chrom"].tolist(), starts, int(length))
        if "name" in df.columns:
            names = [str(v) for v in df["name"]]
        else:
            names = [f"{c}:{s}-{e}" for c, s, e in zip(df["chrom"], df["start"], df["end"])]
        return X, names
    records = read_fasta(path)
    names = list(records)
    seqs = [records[k] for k in names]
    if not seqs:
        raise ValueError(f"{path}: no sequences")
    lens = sorted({len(s) for s in seqs})
    if length is not None and lens != [int(length)]:
        raise ValueError(
            f"{path}: the model reads sequences of {length} bp; found lengths {lens[:5]}; give "
            "sequences of that length"
        )
    if len(lens) != 1:
        raise ValueError(
            f"{path}: sequences must have one length to be batched; found lengths {lens[:5]}"
        )
    return one_hot(seqs), names


def _model_length(pkg: Package) -> int | None:
    """The input length the model needs (its own attribute, else its spec); None for any length."""
    length = getattr(pkg.model, "input_length", None) or pkg.spec.input_length
    return None if length is None else int(length)


# ----------------------------------------------------------------------------------------------
# the file workflow


class _Spliced(nn.Module):
    """``model`` reading one sequence whose positions ``[start, end)`` come from the input
    ``(b, C, end - start)``: ISM of this module is the ISM of that window of the sequence."""

    def __init__(self, model: nn.Module, x: torch.Tensor, start: int, end: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("left", x[None, :, :start].float(), persistent=False)
        self.register_buffer("right", x[None, :, end:].float(), persistent=False)

    def forward(self, xw: torch.Tensor) -> torch.Tensor:
        n = xw.shape[0]
        parts = [self.left.expand(n, -1, -1), xw.to(self.left.dtype), self.right.expand(n, -1, -1)]
        return self.model(torch.cat(parts, dim=-1))


def _window_ism(net, x, start, end, target, batch_size, device, dtype) -> torch.Tensor:
    """ISM ``(C, L)`` of sequence ``x`` (C, L) at positions ``[start, end)`` only (zero elsewhere)."""
    was = net.training
    wrapped = _Spliced(net, x, start, end)
    scores = attribute(
        wrapped,
        x[None, :, start:end],
        method="ism",
        target=target,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
    ).scores[0]
    net.train(was)
    full = torch.zeros(x.shape, dtype=torch.float32)
    full[:, start:end] = torch.as_tensor(scores)
    return full


def _peak_window(values: np.ndarray, width: int) -> int:
    """Start of the ``width``-long window with the largest sum of ``values`` (L,)."""
    width = min(width, values.shape[0])
    c = np.concatenate([[0.0], np.cumsum(values)])
    sums = c[width:] - c[:-width]
    return int(np.argmax(sums))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] or "seq"


def interpret_to_files(
    model: str | os.PathLike | nn.Module,
    sequences: str | os.PathLike,
    out: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    method: str = "ism",
    target: Any = None,
    top: int = 5,
    window: int = 60,
    highlight: int = 10,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = 0,
    verbose: bool = False,
    **options: Any,
) -> Attributions:
    """Attribute a model's predictions for the sequences of a file and write the results and plots.

    Writes into ``out``:

    - ``attributions.npz``: ``X`` (int8 (N, 4, L)), ``attributions``, ``scores`` and, where the method
      has them, ``hypothetical`` (float32 (N, 4, L)); ``names`` (N,), ``prediction`` (N,) (the
      explained output), ``method``, ``target``, ``task_names``. ``genodeep motifs discover`` reads it;
    - ``top.tsv``: the ``top`` sequences with the highest explained output, with the plotted window;
    - ``plots/NN_<name>.attribution.png``: a logo of the attributions over a ``window``-bp window
      around the sequence's most important region (the ``highlight``-bp window with the largest total
      attribution, shaded), and ``plots/NN_<name>.ism.png``: the ISM heatmap (4 x window) of the same
      window (ISM is computed for the top sequences whatever the method).

    Parameters
    ----------
    model : path or torch.nn.Module
        Model package (or a ``genodeep train`` run folder).
    sequences : path
        FASTA, or BED intervals with ``genome`` (see :func:`load_sequences`).
    out : path
        Output folder (created).
    genome : path, optional
        Genome FASTA for BED input.
    method : str, default "ism"
        A key of :data:`genodeep.interpret.api.ATTRIBUTION_METHODS`.
    target : None, int or str, default None
        Task index or name (``None``: the sum of all outputs).
    top : int, default 5
        Sequences plotted (0 for none).
    window, highlight : int
        Width of the plotted window and of the highlighted region (bases).
    batch_size, device, dtype, random_state, verbose, **options
        As in :func:`genodeep.interpret.attribute`.

    Returns
    -------
    Attributions
    """
    check_choice("method", method, ATTRIBUTION_METHODS)
    check_positive("top", top, allow_zero=True)
    check_positive("window", window)
    check_positive("highlight", highlight)
    pkg = as_package(model)
    net = pkg.model
    names_t = list(pkg.task_names)
    tgt = resolve_target(target, names_t)
    X, names = load_sequences(sequences, genome=genome, length=_model_length(pkg))
    res = attribute(
        net,
        X,
        method=method,
        target=tgt,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
        **options,
    )
    y = select_output(predict(net, X, batch_size=batch_size or 64, device=device), tgt).numpy()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "X": X.to(torch.int8).numpy(),
        "attributions": res.attributions.numpy(),
        "scores": res.scores.numpy(),
        "names": np.asarray(names),
        "prediction": y.astype(np.float32),
        "method": np.asarray(method),
        "target": np.asarray("" if tgt is None else str(tgt)),
        "task_names": np.asarray(names_t),
    }
    if res.hypothetical is not None:
        arrays["hypothetical"] = res.hypothetical.numpy()
    with atomic_path(out / "attributions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    log(f"wrote {method} attributions of {len(names)} sequence(s) to {out / 'attributions.npz'}")

    k = min(int(top), len(names))
    if k == 0:
        return res
    order = np.argsort(-y, kind="stable")[:k]
    length = X.shape[-1]
    spans = []
    for i in order:
        importance = np.abs(res.attributions[i].numpy()).sum(axis=0)
        h0 = _peak_window(importance, highlight)
        h1 = min(length, h0 + highlight)
        w0 = max(0, min(length - window, (h0 + h1) // 2 - window // 2))
        spans.append((h0, h1, w0, min(length, w0 + window)))
    if method == "ism":
        ism = res.scores[order]
    else:  # ISM of the plotted windows only (a full ISM of a long input is 3 L forward passes)
        ism = [
            _window_ism(net, X[i], w0, w1, tgt, batch_size, device, dtype)
            for i, (_, _, w0, w1) in zip(order, spans)
        ]
    rows = []
    (out / "plots").mkdir(exist_ok=True)
    for rank, (i, (h0, h1, w0, w1)) in enumerate(zip(order, spans)):
        a = res.attributions[i].numpy()
        stem = f"{rank + 1:02d}_{_safe(names[i])}"
        title = f"{names[i]}  ({method}, output {y[i]:.3g})"
        save_attribution_logo(
            out / "plots" / f"{stem}.attribution.png",
            a,
            start=w0,
            end=w1,
            highlight=(h0, h1),
            title=title,
        )
        save_ism_heatmap(
            out / "plots" / f"{stem}.ism.png",
            ism[rank].numpy(),
            X=X[i].numpy(),
            start=w0,
            end=w1,
            title=f"{names[i]}  (ISM)",
        )
        rows.append(
            {
                "rank": rank + 1,
                "name": names[i],
                "index": int(i),
                "prediction": float(y[i]),
                "window_start": w0,
                "window_end": w1,
                "highlight_start": h0,
                "highlight_end": h1,
                "plot": f"plots/{stem}.attribution.png",
            }
        )
    with atomic_write(out / "top.tsv") as fh:
        pd.DataFrame(rows).to_csv(fh, sep="\t", index=False, float_format="%.6g")
    log(f"wrote logos and ISM heatmaps of the top {k} sequence(s) to {out / 'plots'}")
    return res
