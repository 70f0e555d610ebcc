"""Export a sequence model (or a model package) to ONNX or TorchScript, for serving without genodeep.

Both formats take one float32 input ``X`` of shape ``(N, 4, L)`` (one-hot, channels A, C, G, T; a
column of zeros for N) and return the model's raw outputs: ``y_hat`` ``(N, T)`` (or ``(N, T, L_out)``),
or, for BPNet's profile+count heads, two outputs ``profile`` ``(N, T, L_out)`` and ``counts``
``(N, T)``. Outputs are logits / linear values, exactly as ``model(X)`` returns them; apply the sigmoid
(binary tasks) or softmax/exp yourself. The batch axis is dynamic; the length is fixed at export.

::

    from genodeep.zoo import load, export_onnx
    export_onnx(load("runs/basset/model"), "basset.onnx")

    import onnxruntime as ort
    y_hat = ort.InferenceSession("basset.onnx").run(None, {"X": X.numpy()})[0]

The files carry genodeep's description of the model: ONNX ``metadata_props`` and the TorchScript extra
file ``genodeep.json`` hold the model class, its constructor arguments, the data spec (sequence length,
alphabet, task names) and the genodeep version.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genodeep._device import model_on
from genodeep._io_utils import atomic_path
from genodeep._progress import log
from genodeep._validate import check_positive, require
from genodeep._version import __version__
from genodeep.models.checks import check_first_filter, check_model_runs
from genodeep.models.spec import ModelSpec
from genodeep.zoo.package import Package
from genodeep.zoo.resolve import load

__all__ = ["export_onnx", "export_torchscript", "EXPORT_FORMATS"]

INPUT_NAME = "X"


def _model_and_spec(model_or_package: Any) -> tuple[nn.Module, ModelSpec | None]:
    """The module and its spec from a model, a :class:`~genodeep.zoo.Package` or a package path."""

    if isinstance(model_or_package, (str, os.PathLike)):
        model_or_package = load(model_or_package)
    if isinstance(model_or_package, Package):
        return model_or_package.model, model_or_package.spec
    if isinstance(model_or_package, nn.Module):
        return model_or_package, None
    raise TypeError(
        "model_or_package must be an nn.Module, a genodeep.zoo.Package or the path of a package "
        f"(folder, .tar.gz or run folder); got {type(model_or_package).__name__}"
    )


def _input_length(model: nn.Module, spec: ModelSpec | None, input_length: int | None) -> int:
    """The sequence length to export for: the model's own, else ``input_length``, else the data spec's."""
    own = getattr(model, "input_length", None)
    if input_length is not None:
        if isinstance(input_length, bool) or int(input_length) != input_length or input_length < 1:
            raise ValueError(f"input_length must be a positive integer, got {input_length!r}")
        input_length = int(input_length)
        if own is not None and input_length != own:
            raise ValueError(
                f"input_length={input_length} does not match this {type(model).__name__}, built for "
                f"input_length={own}; leave input_length out (--length) to use {own}"
            )
        check_first_filter(model, input_length, name="input_length")
        check_model_runs(model, input_length, name="input_length", device="cpu")
        return input_length
    if own is not None:
        return int(own)
    if spec is not None and spec.input_length:
        return int(spec.input_length)
    raise ValueError(
        f"the input length of this {type(model).__name__} is unknown: it accepts any length and no "
        "data spec says which one it was trained on; pass input_length=L (CLI: --length L), e.g. "
        "the width of the training windows"
    )


def _in_channels(model: nn.Module) -> int:
    return int(getattr(model, "in_channels", 4) or 4)


def _example(model: nn.Module, length: int, batch: int = 2) -> torch.Tensor:
    """A random one-hot float32 batch ``(batch, C, length)`` (C = the model's input channels)."""
    g = torch.Generator().manual_seed(0)
    c = _in_channels(model)
    idx = torch.randint(0, c, (batch, length), generator=g)
    return torch.nn.functional.one_hot(idx, c).permute(0, 2, 1).float().contiguous()


def _output_names(model: nn.Module, n_outputs: int) -> list[str]:
    names = getattr(model, "output_names", None)
    if isinstance(names, (list, tuple)) and len(names) == n_outputs:
        return [str(n) for n in names]
    if n_outputs == 1:
        return ["y_hat"]
    if n_outputs == 2 and getattr(model, "heads", None) == "profile+count":
        return ["profile", "counts"]
    return [f"y_hat_{i}" for i in range(n_outputs)]


def _as_outputs(out: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(out, torch.Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in out):
        return tuple(out)
    raise TypeError(
        f"only models returning a tensor or a tuple of tensors can be exported; got {type(out).__name__}"
    )


def _description(model: nn.Module, spec: ModelSpec | None, length: int, names: list[str]) -> dict:

    cls = type(model)
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "kwargs": getattr(model, "config", {}),
        "data_spec": {**(spec.to_dict() if spec is not None else {}), "input_length": length},
        "input": f"{INPUT_NAME}: float32 (N, {_in_channels(model)}, {length}), one-hot A,C,G,T",
        "outputs": names,
        "genodeep_version": __version__,
    }


def _cpu_eval(model: nn.Module):
    """Context: the model on the CPU in eval mode (device and mode restored afterwards)."""

    return model_on(model, torch.device("cpu"))


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' deprecation and tracer warnings (they do not apply to these models)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        yield


def _max_abs_diff(a: tuple, b: tuple) -> float:
    import numpy as np

    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


def export_onnx(
    model_or_package: Any,
    path: str | os.PathLike,
    *,
    input_length: int | None = None,
    opset: int = 17,
    dynamic_batch: bool = True,
    check: bool = True,
    atol: float = 1e-4,
    verbose: bool = False,
) -> Path:
    """Write a sequence model as an ONNX file (runs with onnxruntime, TensorRT, ONNX.js, ...).

    Parameters
    ----------
    model_or_package : nn.Module, genodeep.zoo.Package or path
        A model (``(N, 4, L)`` -> tensor or tuple of tensors), a loaded package, or the path of a
        package folder / ``.tar.gz`` archive / ``genodeep train`` run folder.
    path : path
        Output ``.onnx`` file, written atomically.
    input_length : int, optional
        Sequence length ``L`` of the exported graph. Default: the model's ``input_length``, else the
        package's spec ``input_length``; required for models that accept any length
        (DeepBind, BPNet, RNN) when neither is known.
    opset : int
        ONNX opset version.
    dynamic_batch : bool
        Make the batch axis dynamic (``"batch"``); ``False`` fixes it at 1.
    check : bool
        Validate the file with ``onnx.checker`` and, when onnxruntime is installed, compare its
        outputs with the PyTorch model's on a random one-hot batch (raises when they differ by more
        than ``atol``).
    atol : float
        Tolerance of that comparison.
    verbose : bool
        Log what was written (and the measured difference).

    Returns
    -------
    Path
        ``path``. Input ``"X"`` float32 ``(batch, 4, L)``; outputs ``"y_hat"`` (or ``"profile"`` and
        ``"counts"`` for BPNet with ``heads="profile+count"``), raw model outputs.

    Raises
    ------
    ValueError
        The input length is unknown, or the exported graph's outputs differ from the model's.
    ImportError
        onnx is not installed (``pip install 'genodeep[export]'``).
    """

    onnx = require("onnx", "export")
    check_positive("opset", opset)
    model, spec = _model_and_spec(model_or_package)
    length = _input_length(model, spec, input_length)
    path = Path(path)
    with _cpu_eval(model) as m:
        x = _example(m, length, batch=2 if dynamic_batch else 1)
        with torch.no_grad():
            ref = _as_outputs(m(x))
        names = _output_names(m, len(ref))
        dynamic_axes = None
        if dynamic_batch:
            dynamic_axes = {INPUT_NAME: {0: "batch"}, **{n: {0: "batch"} for n in names}}
        with atomic_path(path) as tmp:
            with _quiet_export():
                torch.onnx.export(
                    m,
                    (x,),
                    tmp,
                    input_names=[INPUT_NAME],
                    output_names=names,
                    opset_version=int(opset),
                    dynamic_axes=dynamic_axes,
                    do_constant_folding=True,
                    dynamo=False,
                )
            proto = onnx.load(tmp)
            desc = _description(m, spec, length, names)
            for key, value in desc.items():
                entry = proto.metadata_props.add()
                entry.key = f"genodeep.{key}"
                entry.value = value if isinstance(value, str) else json.dumps(value)
            proto.producer_name = "genodeep"
            proto.producer_version = str(desc["genodeep_version"])
            if check:
                onnx.checker.check_model(proto)
            onnx.save(proto, tmp)
            diff = None
            if check:
                try:
                    import onnxruntime as ort
                except ImportError:  # pragma: no cover - onnxruntime is optional
                    ort = None
                if ort is not None:
                    batch = 3 if dynamic_batch else 1
                    xc = _example(m, length, batch=batch)
                    with torch.no_grad():
                        want = tuple(t.numpy() for t in _as_outputs(m(xc)))
                    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
                    got = tuple(sess.run(None, {INPUT_NAME: xc.numpy()}))
                    diff = _max_abs_diff(got, want)
                    if not diff <= atol:
                        raise ValueError(
                            f"the exported ONNX graph differs from the model by {diff:.3g} (> atol="
                            f"{atol}); the model may use an operation the ONNX exporter cannot "
                            f"represent faithfully; try another opset (opset={opset})"
                        )
    if verbose:
        extra = f"; max |onnxruntime - torch| = {diff:.2g}" if diff is not None else ""
        log(f"wrote {path} (input {INPUT_NAME} (batch, {_in_channels(model)}, {length}){extra})")
    return path


def export_torchscript(
    model_or_package: Any,
    path: str | os.PathLike,
    *,
    input_length: int | None = None,
    check: bool = True,
    atol: float = 1e-5,
    verbose: bool = False,
) -> Path:
    """Write a sequence model as a traced TorchScript file (``torch.jit.load`` runs it without genodeep).

    Parameters
    ----------
    model_or_package : nn.Module, genodeep.zoo.Package or path
        As for :func:`export_onnx`.
    path : path
        Output ``.pt`` file, written atomically.
    input_length : int, optional
        Sequence length ``L`` to trace with (default as for :func:`export_onnx`). The traced module
        accepts any batch size.
    check : bool
        Reload the file and compare its outputs with the model's on a random one-hot batch.
    atol : float
        Tolerance of that comparison.
    verbose : bool
        Log what was written.

    Returns
    -------
    Path
        ``path``. The file carries ``genodeep.json`` (class, arguments, data spec) as an extra file:
        ``torch.jit.load(path, _extra_files={"genodeep.json": ""})``.

    Notes
    -----
    PyTorch marks TorchScript as deprecated; ONNX (:func:`export_onnx`) is the portable format.
    """
    model, spec = _model_and_spec(model_or_package)
    length = _input_length(model, spec, input_length)
    path = Path(path)
    with _cpu_eval(model) as m:
        x = _example(m, length, batch=2)
        with torch.no_grad():
            names = _output_names(m, len(_as_outputs(m(x))))
        with _quiet_export():
            with torch.no_grad():
                traced = torch.jit.trace(m, (x,), check_trace=False)
            desc = json.dumps(_description(m, spec, length, names))
            with atomic_path(path) as tmp:
                torch.jit.save(traced, tmp, _extra_files={"genodeep.json": desc})
                diff = None
                if check:
                    loaded = torch.jit.load(tmp, map_location="cpu")
                    xc = _example(m, length, batch=3)
                    with torch.no_grad():
                        want = tuple(t.numpy() for t in _as_outputs(m(xc)))
                        got = tuple(t.numpy() for t in _as_outputs(loaded(xc)))
                    diff = _max_abs_diff(got, want)
                    if not diff <= atol:
                        raise ValueError(
                            f"the traced TorchScript module differs from the model by {diff:.3g} "
                            f"(> atol={atol}); the model's forward may depend on Python control flow"
                        )
    if verbose:
        log(f"wrote {path} (TorchScript, input (batch, {_in_channels(model)}, {length}))")
    return path


#: ``--format`` name -> export function
EXPORT_FORMATS = {"onnx": export_onnx, "torchscript": export_torchscript}
