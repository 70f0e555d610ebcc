"""One entry point for every attribution method, and the file-level workflow behind ``genodeep interpret``.

:func:`attribute` picks a method by name from :data:`ATTRIBUTION_METHODS` and returns the scores in one
form whatever the method (:class:`Attributions`): the method's own output, the contribution of every
observed base, and the hypothetical contributions (the form TF-MoDISco reads) where the method defines
them. :func:`interpret_to_files` loads a model package and sequences (FASTA, or BED intervals of a genome),
runs :func:`attribute`, and writes ``attributions.npz`` plus logos and ISM heatmaps of the top sequences.
"""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._validate import check_choice, check_positive

__all__ = [
    "ATTRIBUTION_METHODS",
    "Attributions",
    "attribute",
    "interpret_to_files",
    "load_sequences",
    "resolve_target",
]


class Attributions(NamedTuple):
    """What :func:`attribute` returns (all tensors float32 on the CPU, shape (N, 4, L)).

    Attributes
    ----------
    X : torch.Tensor, shape (N, 4, L)
        The one-hot sequences explained (float32).
    attributions : torch.Tensor, shape (N, 4, L)
        Contribution of each observed base (0 at the other three channels): ``X * hypothetical`` for
        ``ism``, ``ixg`` and ``deepliftshap``, ``X * |grad|`` for ``saliency``, the integrated gradients
        themselves for ``ig`` (zero baseline: ``X * path-averaged gradient``).
    hypothetical : torch.Tensor or None, shape (N, 4, L)
        Hypothetical contributions, the score every base would have at every position (what TF-MoDISco
        reads): the ISM effects centred on their per-position mean (``ism``), the gradient (``ixg``), the
        DeepLIFT/SHAP hypothetical scores (``deepliftshap``); ``None`` for ``saliency`` and ``ig``.
    scores : torch.Tensor, shape (N, 4, L)
        The method's own output: ISM effects ``y(mutant) - y(reference)`` (0 at the reference base),
        ``|dy/dX|``, ``X * dy/dX``, integrated gradients, or DeepLIFT/SHAP contributions.
    method : str
        The method's name (a key of :data:`ATTRIBUTION_METHODS`).
    """

    X: torch.Tensor
    attributions: torch.Tensor
    hypothetical: torch.Tensor | None
    scores: torch.Tensor
    method: str


# ----------------------------------------------------------------------------------------------
# the methods: each maps (model, X float32, common keywords, method keywords) -> (scores, hypothetical)


def _ism(model, X, *, target, batch_size, device, dtype, random_state, verbose, fast=True):
    from genodeep.interpret.ism import saturation_mutagenesis

    scores = saturation_mutagenesis(
        model,
        X,
        target=target,
        fast=fast,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    return scores, scores - scores.mean(dim=1, keepdim=True)


def _saliency(model, X, *, target, batch_size, device, dtype, random_state, verbose):
    from genodeep.interpret.gradients import saliency

    scores = saliency(
        model, X, target=target, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose
    )
    return scores, None


def _ixg(model, X, *, target, batch_size, device, dtype, random_state, verbose):
    from genodeep.interpret.gradients import _gradients

    grads = _gradients(model, X, target, batch_size, device, dtype, verbose)
    return X * grads, grads


def _ig(
    model,
    X,
    *,
    target,
    batch_size,
    device,
    dtype,
    random_state,
    verbose,
    baseline="zeros",
    n_steps=50,
    quadrature="gausslegendre",
):
    from genodeep.interpret.gradients import integrated_gradients

    scores = integrated_gradients(
        model,
        X,
        target=target,
        baseline=baseline,
        n_steps=n_steps,
        method=quadrature,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
    )
    return scores, None


def _deepliftshap(
    model,
    X,
    *,
    target,
    batch_size,
    device,
    dtype,
    random_state,
    verbose,
    references="shuffle",
    n_shuffles=20,
):
    from genodeep.interpret.deeplift import deep_lift_shap

    if dtype is not None and dtype != torch.float32:
        raise ValueError(
            f"dtype={dtype!r} is not supported by method='deepliftshap' (float32 only); use dtype=None"
        )
    hyp = deep_lift_shap(
        model,
        X,
        target=target,
        references=references,
        n_shuffles=n_shuffles,
        hypothetical=True,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    return X * hyp, hyp


#: name -> function ``(model, X, *, target, batch_size, device, dtype, random_state, verbose, **options)
#: -> (scores, hypothetical | None)``. The options each method accepts are its keyword arguments.
ATTRIBUTION_METHODS: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor | None]]] = {
    "ism": _ism,
    "saliency": _saliency,
    "ixg": _ixg,
    "ig": _ig,
    "deepliftshap": _deepliftshap,
}

_COMMON = ("target", "batch_size", "device", "dtype", "random_state", "verbose")


def _method_options(fn: Callable) -> list[str]:
    import inspect

    return [
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind == p.KEYWORD_ONLY and name not in _COMMON
    ]


def attribute(
    model: nn.Module,
    X: torch.Tensor | np.ndarray,
    *,
    method: str = "ism",
    target: Any = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = None,
    verbose: bool = False,
    **options: Any,
) -> Attributions:
    """Attribution scores of every base of every sequence, by any method.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, 4, L)`` float inputs to outputs (see ``target``).
    X : torch.Tensor or np.ndarray, shape (N, 4, L) or (4, L)
        One-hot sequences (any numeric dtype).
    method : {"ism", "saliency", "ixg", "ig", "deepliftshap"}, default "ism"
        In-silico saturation mutagenesis, saliency ``|dy/dX|``, input x gradient, integrated gradients,
        DeepLIFT/SHAP with dinucleotide-shuffled references.
    target : None, int, list of int or callable, default None
        Output to explain (see :mod:`genodeep.interpret._targets`; ``None`` sums all outputs). Task
        names are resolved by :func:`resolve_target`.
    batch_size : int, optional
        Rows per forward/backward pass (``ism``: mutants per pass); by default the method's own
        default (``ism`` and ``deepliftshap`` size batches to about 16 MB of activations; 64 for the
        others).
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward passes under autocast (not for ``deepliftshap``).
    random_state : int, optional
        Seed for shuffled references (``deepliftshap``, ``ig`` with ``baseline="shuffle"``).
    verbose : bool, default False
        Progress bars.
    **options
        Method options: ``ism``: ``fast``; ``ig``: ``baseline``, ``n_steps``, ``quadrature`` (the
        integration rule); ``deepliftshap``: ``references``, ``n_shuffles``.

    Returns
    -------
    Attributions
        ``X``, ``attributions``, ``hypothetical`` (or ``None``), ``scores`` (each (N, 4, L), or (4, L)
        for a single sequence) and ``method``.
    """
    check_choice("method", method, ATTRIBUTION_METHODS)
    if batch_size is None and method not in ("ism", "deepliftshap"):
        batch_size = 64  # ism and deepliftshap size their batches by activation memory
    if batch_size is not None:
        check_positive("batch_size", batch_size)
    fn = ATTRIBUTION_METHODS[method]
    valid = _method_options(fn)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        hint = ", ".join(valid) if valid else "none"
        raise TypeError(
            f"method={method!r} got unknown option(s) {', '.join(unknown)}; its options are: {hint}"
        )
    Xt = torch.from_numpy(np.asarray(X)) if isinstance(X, np.ndarray) else X
    if not isinstance(Xt, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor or np.ndarray (N, 4, L), got {type(X).__name__}")
    single = Xt.ndim == 2
    if single:
        Xt = Xt.unsqueeze(0)
    if Xt.ndim != 3 or Xt.shape[1] != 4:
        raise ValueError(
            f"X had shape {tuple(Xt.shape)} while it should have had (N, 4, L) or (4, L); "
            "one-hot encode sequences with genodeep.seq.one_hot"
        )
    Xf = Xt.float()
    scores, hyp = fn(
        model,
        Xf,
        target=target,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
        **options,
    )
    scores = scores.float()
    if method == "saliency":
        attr = Xf * scores
    elif method == "ig":
        attr = scores
    else:
        hyp = hyp.float()
        attr = Xf * hyp
    if single:
        Xf, attr, scores = Xf[0], attr[0], scores[0]
        hyp = None if hyp is None else hyp[0]
    return Attributions(Xf, attr, hyp, scores, method)


# ----------------------------------------------------------------------------------------------
# loading models, targets and sequences


def _load_model(model: str | os.PathLike | nn.Module):
    """A model package (or a ``genodeep train`` run folder), or a module as given.

    Parameters
    ----------
    model : path or torch.nn.Module
        Package folder / ``.tar.gz`` written by :func:`genodeep.zoo.save_package`, or a run folder
        holding ``model/``.

    Returns
    -------
    genodeep.zoo.Package
        ``.model`` (eval mode), ``.data_spec``, ``.metadata``.
    """
    from genodeep.zoo import Package, load

    if isinstance(model, nn.Module):
        return Package(model=model)
    p = Path(model)
    if (p / "model" / "config.json").exists():
        p = p / "model"
    if not p.exists():
        raise FileNotFoundError(f"model not found: {p}")
    if p.is_dir() and not (p / "config.json").exists():
        raise FileNotFoundError(
            f"{p} holds no model package (no config.json); point to a folder written by "
            "genodeep.zoo.save_package or `genodeep train`"
        )
    return load(p)


def resolve_target(target: Any, task_names: Sequence[str] | None = None) -> Any:
    """Turn a task name (or an index given as text) into the index the attribution functions take.

    Parameters
    ----------
    target : None, int, str, list of int/str, or callable
        ``str``: a task name from ``task_names`` or a task index written as digits.
    task_names : sequence of str, optional
        The model's task names.

    Returns
    -------
    None, int, list of int or callable
    """
    if target is None or callable(target):
        return target
    if isinstance(target, (list, tuple)):
        return [resolve_target(t, task_names) for t in target]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        return int(target)
    if isinstance(target, str):
        names = list(task_names or [])
        if target in names:
            return names.index(target)
        if re.fullmatch(r"-?\d+", target.strip()):
            return int(target)
        from genodeep._validate import near_matches

        close = near_matches(target, names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        valid = ", ".join(names) if names else "none are named; give an index"
        raise ValueError(
            f"target={target!r} is not a task of the model{hint}; give a task name ({valid}) or a "
            "task index"
        )
    raise TypeError(f"target must be None, a task name or index, or a list of them; got {target!r}")


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
        from genodeep.io import Genome, read_bed

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
    from genodeep.io import read_fasta
    from genodeep.seq import one_hot

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


def _model_length(pkg) -> int | None:
    length = getattr(pkg.model, "input_length", None) or pkg.data_spec.get("sequence_length")
    return None if length is None else int(length)


def _task_names(pkg) -> list[str]:
    names = pkg.data_spec.get("task_names")
    if names:
        return list(names)
    return [f"task_{i}" for i in range(int(getattr(pkg.model, "n_tasks", 1) or 1))]


# ----------------------------------------------------------------------------------------------
# the file workflow


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
        A key of :data:`ATTRIBUTION_METHODS`.
    target : None, int or str, default None
        Task index or name (``None``: the sum of all outputs).
    top : int, default 5
        Sequences plotted (0 for none).
    window, highlight : int
        Width of the plotted window and of the highlighted region (bases).
    batch_size, device, dtype, random_state, verbose, **options
        As in :func:`attribute`.

    Returns
    -------
    Attributions
    """
    from genodeep._batching import predict
    from genodeep._io_utils import atomic_path, atomic_write
    from genodeep._progress import log
    from genodeep.interpret._targets import select_output

    check_choice("method", method, ATTRIBUTION_METHODS)
    check_positive("top", top, allow_zero=True)
    check_positive("window", window)
    check_positive("highlight", highlight)
    pkg = _load_model(model)
    net = pkg.model
    names_t = _task_names(pkg)
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
    from genodeep.interpret.plots import save_attribution_logo, save_ism_heatmap

    order = np.argsort(-y, kind="stable")[:k]
    if method == "ism":
        ism = res.scores[order]
    else:
        ism = attribute(net, X[order], method="ism", target=tgt, device=device, dtype=dtype).scores
    length = X.shape[-1]
    rows = []
    (out / "plots").mkdir(exist_ok=True)
    for rank, i in enumerate(order):
        a = res.attributions[i].numpy()
        importance = np.abs(a).sum(axis=0)
        h0 = _peak_window(importance, highlight)
        h1 = min(length, h0 + highlight)
        w0 = max(0, min(length - window, (h0 + h1) // 2 - window // 2))
        w1 = min(length, w0 + window)
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
