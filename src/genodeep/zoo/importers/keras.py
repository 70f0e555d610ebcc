"""Read a Keras ``.h5`` model (``model_config`` + ``model_weights``) into an :class:`ImportedGraph`.

Only the HDF5 file is read, with h5py: no TensorFlow, no Keras, no code from the file. Keras 2 functional
(``Model``) and ``Sequential`` configs are understood. Layers: InputLayer, Conv1D (strides, dilation,
``valid``/``same``/``causal`` padding, activation), Dense, BatchNormalization, Activation, ReLU, Add,
Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Cropping1D, ZeroPadding1D, MaxPooling1D,
AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, Flatten, Dropout (and its variants) and
MMSplice's ``ConvDNA`` and ``GlobalAveragePooling1D_Mask0``. Any other layer is refused with its name.

Keras works channels-last ``(N, L, C)``; the graph is rebuilt channels-first ``(N, C, L)``: kernels are
transposed, softmax and concatenation axes remapped, and ``Flatten`` keeps Keras' feature order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genodeep._validate import InputFileError
from genodeep.models.imported import ImportedGraph

__all__ = ["read_keras_h5", "KERAS_LAYERS"]

_CONV = ("Conv1D", "Convolution1D", "ConvDNA", "ConvSequence")
_MERGE = {
    "Add": "add",
    "Subtract": "subtract",
    "Multiply": "multiply",
    "Average": "average",
    "Maximum": "maximum",
    "Minimum": "minimum",
}
_IDENTITY = ("Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout")

#: Keras layer class names this importer converts
KERAS_LAYERS = (
    "InputLayer",
    *_CONV,
    "Dense",
    "BatchNormalization",
    "Activation",
    "ReLU",
    *_MERGE,
    "Concatenate",
    "Cropping1D",
    "ZeroPadding1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D_Mask0",
    "Flatten",
    *_IDENTITY,
)


def _h5py():
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - h5py ships with the sc extra
        raise ImportError(
            "reading Keras .h5 files needs h5py: pip install h5py (or genodeep[sc])"
        ) from err
    return h5py


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _layers_of(config: dict, path: Path) -> tuple[list[dict], list[str], list[str]]:
    """(layers, input names, output names) of a functional or Sequential Keras config."""
    cls = config.get("class_name")
    body = config.get("config")
    if cls == "Sequential":
        layers = body if isinstance(body, list) else body.get("layers", [])
        chained, prev = [], None
        first = layers[0]["config"] if layers else {}
        if layers and layers[0]["class_name"] != "InputLayer":
            shape = first.get("batch_input_shape") or [None, None, 4]
            chained.append(
                {
                    "class_name": "InputLayer",
                    "name": "input",
                    "config": {"batch_input_shape": shape},
                    "inbound_nodes": [],
                }
            )
            prev = "input"
        for layer in layers:
            name = layer.get("name") or layer["config"]["name"]
            chained.append(
                {**layer, "name": name, "inbound_nodes": [[[prev, 0, 0, {}]]] if prev else []}
            )
            prev = name
        return chained, [chained[0]["name"]], [prev]
    if cls in ("Model", "Functional"):
        ins = [i[0] for i in body.get("input_layers", [])]
        outs = [o[0] for o in body.get("output_layers", [])]
        return body["layers"], ins, outs
    raise InputFileError(
        f"model_config is a {cls!r}; only Keras 'Model' (functional) and 'Sequential' models can be "
        "imported",
        path=path,
        fix="save the Keras model with model.save('model.h5') from a functional or Sequential model",
    )


def _inbound(layer: dict, path: Path) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise InputFileError(
            f"layer {layer.get('name')!r} ({layer['class_name']}) is called {len(nodes)} times (a "
            "shared layer); shared layers are not supported",
            path=path,
            fix="import a model whose layers are each called once",
        )
    first = nodes[0]
    if isinstance(first, dict) or (first and not isinstance(first[0], list)):
        raise InputFileError(
            f"layer {layer.get('name')!r}: inbound nodes in an unknown (Keras 3?) format",
            path=path,
            fix="save the model with Keras 2 / tf-keras as .h5",
        )
    return [str(i[0]) for i in first]


def _weights(group, layer_name: str) -> dict[str, np.ndarray]:
    """``{short name: array}`` of one layer's weights (``kernel``, ``bias``, ``gamma`` ...)."""
    if layer_name not in group:
        return {}
    g = group[layer_name]
    names = [_text(n) for n in g.attrs.get("weight_names", [])]
    return {n.split("/")[-1].split(":")[0]: np.asarray(g[n], dtype=np.float32) for n in names}


def _same_padding(kernel: int, dilation: int) -> list[int]:
    total = dilation * (kernel - 1)
    return [total // 2, total - total // 2]


def _convert(
    layer: dict, inputs: list[str], ranks: dict[str, int], w: dict[str, np.ndarray], path: Path
) -> tuple[dict, dict[str, torch.Tensor], int]:
    """(node, state for its module, output rank) of one Keras layer."""
    cls, name, cfg = layer["class_name"], layer["name"], layer.get("config", {})
    args: dict[str, Any] = {}
    state: dict[str, torch.Tensor] = {}
    rank = ranks[inputs[0]] if inputs else 3
    if cls in _CONV:
        kernel = w["kernel"]  # (k, in, out)
        k, cin, cout = kernel.shape
        dil = int(_first(cfg.get("dilation_rate", 1)))
        stride = int(_first(cfg.get("strides", 1)))
        pad = cfg.get("padding", "valid")
        if pad == "same":
            if stride != 1:
                raise _unsupported(layer, path, "padding='same' with strides > 1")
            padding = _same_padding(k, dil)
        elif pad == "causal":
            padding = [dil * (k - 1), 0]
        else:
            padding = [0, 0]
        op = "conv1d"
        args = dict(
            in_channels=cin,
            out_channels=cout,
            kernel_size=k,
            stride=stride,
            dilation=dil,
            padding=padding,
            bias="bias" in w,
            activation=cfg.get("activation", "linear"),
        )
        i = 0 if padding[0] == padding[1] else 1  # the conv's index in its nn.Sequential
        state[f"{i}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 1, 0)))
        if "bias" in w:
            state[f"{i}.bias"] = torch.from_numpy(w["bias"])
    elif cls == "Dense":
        kernel = w["kernel"]
        op = "dense"
        args = dict(
            in_features=kernel.shape[0],
            out_features=kernel.shape[1],
            bias="bias" in w,
            activation=cfg.get("activation", "linear"),
        )
        state["linear.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.T))
        if "bias" in w:
            state["linear.bias"] = torch.from_numpy(w["bias"])
    elif cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) else axis
        if axis not in (-1, rank - 1):
            raise _unsupported(layer, path, f"axis={axis} (only the channel axis -1)")
        mean, var = w["moving_mean"], w["moving_variance"]
        c = mean.shape[0]
        op = "batchnorm"
        args = dict(channels=c, eps=float(cfg.get("epsilon", 1e-3)), affine=True)
        state["weight"] = torch.from_numpy(w.get("gamma", np.ones(c, np.float32)))
        state["bias"] = torch.from_numpy(w.get("beta", np.zeros(c, np.float32)))
        state["running_mean"] = torch.from_numpy(mean)
        state["running_var"] = torch.from_numpy(var)
        state["num_batches_tracked"] = torch.tensor(0)
    elif cls == "Activation":
        op, args = "activation", {"fn": cfg.get("activation", "linear")}
    elif cls == "ReLU":
        if cfg.get("max_value") is not None or float(cfg.get("negative_slope", 0) or 0) != 0:
            raise _unsupported(layer, path, "ReLU with max_value or negative_slope")
        if float(cfg.get("threshold", 0) or 0) != 0:
            raise _unsupported(layer, path, "ReLU with a threshold")
        op, args = "activation", {"fn": "relu"}
    elif cls in _MERGE:
        op = _MERGE[cls]
    elif cls == "Concatenate":
        axis = int(cfg.get("axis", -1))
        axis = axis % rank
        op, args = "concat", {"axis": {0: 0, 1: 2, 2: 1}[axis] if rank == 3 else axis}
    elif cls == "Cropping1D":
        left, right = cfg.get("cropping", [1, 1])
        op, args = "crop", {"left": int(left), "right": int(right)}
    elif cls == "ZeroPadding1D":
        p = cfg.get("padding", 1)
        left, right = (p, p) if isinstance(p, int) else p
        op, args = "pad", {"left": int(left), "right": int(right)}
    elif cls in ("MaxPooling1D", "AveragePooling1D"):
        size = int(_first(cfg.get("pool_size", 2)))
        stride = int(_first(cfg.get("strides") or size))
        if cfg.get("padding", "valid") != "valid":
            raise _unsupported(layer, path, "pooling with padding='same'")
        op = "maxpool" if cls.startswith("Max") else "avgpool"
        args = {"size": size, "stride": stride}
    elif cls in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        op, rank = ("global_avgpool" if "Average" in cls else "global_maxpool"), 2
        return _node(name, op, inputs, args), state, rank
    elif cls == "GlobalAveragePooling1D_Mask0":
        return _node(name, "masked_global_avgpool", inputs, args), state, 2
    elif cls == "Flatten":
        return _node(name, "flatten", inputs, {"channels_last": True}), state, 2
    elif cls in _IDENTITY:
        op = "identity"
    else:
        raise _unsupported(layer, path)
    return _node(name, op, inputs, args), state, rank


def _node(name: str, op: str, inputs: list[str], args: dict) -> dict:
    return {"name": name, "op": op, "inputs": list(inputs), "args": args}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value


def _unsupported(layer: dict, path: Path, detail: str | None = None) -> InputFileError:
    what = f"layer {layer.get('name')!r} of type {layer['class_name']}"
    if detail:
        return InputFileError(
            f"{what} uses {detail}, which the importer does not support",
            path=path,
            fix="export the model to ONNX, or replace that layer before saving",
        )
    return InputFileError(
        f"{what} is not supported by the Keras importer; supported layers: {', '.join(KERAS_LAYERS)}",
        path=path,
        fix="export the model to ONNX (genodeep zoo import FILE.onnx), or replace that layer",
    )


def read_keras_h5(
    path: str | os.PathLike, *, prefix: str = ""
) -> tuple[list[dict], list[str], list[str], dict[str, torch.Tensor], dict[str, Any]]:
    """Read a Keras 2 ``.h5`` model into graph nodes and weights.

    Parameters
    ----------
    path : path
        A file written by Keras' ``model.save`` (``model_config`` attribute and ``model_weights``
        group).
    prefix : str
        Put before every node name (to merge several models into one graph).

    Returns
    -------
    nodes : list of dict
        :class:`~genodeep.models.imported.ImportedGraph` nodes, channels-first.
    inputs, outputs : list of str
        The input and output node names.
    state : dict of str to Tensor
        Weights keyed as the ``state_dict`` of an ``ImportedGraph`` built from ``nodes``.
    info : dict
        ``keras_version``, ``backend``, ``class_name`` from the file.

    Raises
    ------
    InputFileError
        Not a Keras model file, or a layer the importer does not support (named).
    """
    h5py = _h5py()
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as err:
        raise InputFileError(
            f"not an HDF5 file ({err})", path=path, fix="give a Keras .h5 model file"
        ) from err
    with fh:
        if "model_config" not in fh.attrs:
            raise InputFileError(
                "no model_config attribute: a weights-only file or not a Keras model",
                path=path,
                fix="save the whole model (model.save('model.h5')), not only its weights",
            )
        config = json.loads(_text(fh.attrs["model_config"]))
        group = fh["model_weights"] if "model_weights" in fh else fh
        layers, ins, outs = _layers_of(config, path)
        info = {
            "keras_version": _text(fh.attrs.get("keras_version", "")),
            "backend": _text(fh.attrs.get("backend", "")),
            "class_name": config.get("class_name"),
        }
        nodes: list[dict] = []
        state: dict[str, torch.Tensor] = {}
        ranks: dict[str, int] = {}
        for layer in layers:
            name = layer.get("name") or layer["config"]["name"]
            layer = {**layer, "name": name}
            inputs = _inbound(layer, path)
            if layer["class_name"] == "InputLayer":
                shape = layer["config"].get("batch_input_shape") or [None, None, 4]
                if len(shape) != 3:
                    raise _unsupported(layer, path, f"an input of shape {shape} (need (N, L, C))")
                nodes.append(
                    _node(prefix + name, "input", [], {"channels": shape[2], "length": shape[1]})
                )
                ranks[name] = 3
                continue
            node, st, rank = _convert(layer, inputs, ranks, _weights(group, name), path)
            node["name"] = prefix + name
            node["inputs"] = [prefix + i for i in inputs]
            nodes.append(node)
            ranks[name] = rank
            key = (prefix + name).replace(".", "_").replace("/", "_")
            state.update({f"layers.{key}.{k}": v for k, v in st.items()})
    return nodes, [prefix + i for i in ins], [prefix + o for o in outs], state, info


def keras_model(path: str | os.PathLike, **kwargs: Any) -> ImportedGraph:
    """The model of a Keras ``.h5`` file as an :class:`ImportedGraph` in eval mode, weights loaded."""
    nodes, _, outs, state, info = read_keras_h5(path)
    model = ImportedGraph(
        nodes=nodes, outputs=outs, source={"format": "keras-h5", "file": Path(path).name}, **kwargs
    )
    model.load_state_dict(state)
    return model.eval()
