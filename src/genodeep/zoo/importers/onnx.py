"""Read an ONNX model (1-D sequence networks) into an :class:`ImportedGraph`.

Our own reader for the operations sequence models use, with the ``onnx`` package (``genodeep[export]``):
Conv (1-D), BatchNormalization, Relu, Sigmoid, Tanh, Softmax (axis 1), Exp, Softplus, Elu, Add, Sub,
Mul, Gemm, MatMul (with a constant matrix), Flatten, GlobalAveragePool, GlobalMaxPool, MaxPool,
AveragePool, Concat, Identity and Dropout. Any other operation is refused with its name. ONNX models of
sequence networks are channels-first already ``(N, C, L)``, so tensors are taken as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genodeep._validate import InputFileError
from genodeep.models.imported import ImportedGraph

__all__ = ["read_onnx", "onnx_model", "ONNX_OPS"]

_ACT = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Exp": "exponential",
    "Softplus": "softplus",
    "Elu": "elu",
}
_MERGE = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Max": "maximum", "Min": "minimum"}
#: ONNX operations this importer converts
ONNX_OPS = (
    "Conv",
    "BatchNormalization",
    *_ACT,
    "Softmax",
    *_MERGE,
    "Gemm",
    "MatMul",
    "Flatten",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "MaxPool",
    "AveragePool",
    "Concat",
    "Identity",
    "Dropout",
)


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as err:
        raise ImportError(
            "importing ONNX files needs onnx: pip install 'genodeep[export]' (or pip install onnx)"
        ) from err
    return onnx, numpy_helper


def _attrs(node) -> dict[str, Any]:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _key(name: str) -> str:
    return name.replace(".", "_").replace("/", "_") or "_"


def read_onnx(path: str | os.PathLike) -> tuple[list[dict], list[str], dict[str, torch.Tensor]]:
    """Read an ONNX file into (graph nodes, output names, state dict) for :class:`ImportedGraph`.

    Raises
    ------
    InputFileError
        Unreadable file, or an operation the importer does not support (named, with the node).
    """
    onnx, numpy_helper = _onnx()
    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and others
        raise InputFileError(
            f"not a readable ONNX model ({err})", path=path, fix="give an .onnx model file"
        ) from err
    graph = proto.graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"]).astype(np.float32)
    nodes: list[dict] = []
    state: dict[str, torch.Tensor] = {}
    for inp in graph.input:
        if inp.name in consts:
            continue
        dims = [d.dim_value or None for d in inp.type.tensor_type.shape.dim]
        if len(dims) != 3:
            raise InputFileError(
                f"input {inp.name!r} has {len(dims)} dimensions; sequence models take (N, C, L)",
                path=path,
            )
        nodes.append(
            {
                "name": inp.name,
                "op": "input",
                "inputs": [],
                "args": {"channels": dims[1], "length": dims[2]},
            }
        )
    for n in graph.node:
        if n.op_type == "Constant":
            continue
        name = n.output[0]
        ins = [x for x in n.input if x and x not in consts]
        consts_in = [consts[x] for x in n.input[1:] if x in consts]
        a = _attrs(n)
        args: dict[str, Any] = {}
        st: dict[str, np.ndarray] = {}
        op = n.op_type
        if op == "Conv":
            w = consts_in[0]
            if w.ndim != 3 or int(a.get("group", 1)) != 1:
                raise _unsupported(n, path, "a Conv that is not 1-D with group=1")
            pads = list(a.get("pads", [0, 0]))
            left, right = int(pads[0]), int(pads[-1])
            args = dict(
                in_channels=w.shape[1],
                out_channels=w.shape[0],
                kernel_size=w.shape[2],
                stride=int(a.get("strides", [1])[0]),
                dilation=int(a.get("dilations", [1])[0]),
                padding=[left, right],
                bias=len(consts_in) > 1,
            )
            j = 0 if left == right else 1
            st[f"{j}.weight"] = w
            if len(consts_in) > 1:
                st[f"{j}.bias"] = consts_in[1]
            gop = "conv1d"
        elif op == "BatchNormalization":
            scale, bias, mean, var = consts_in[:4]
            args = dict(channels=scale.shape[0], eps=float(a.get("epsilon", 1e-5)), affine=True)
            st = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var}
            gop = "batchnorm"
        elif op in _ACT:
            gop, args = "activation", {"fn": _ACT[op]}
        elif op == "Softmax":
            if int(a.get("axis", -1)) != 1:
                raise _unsupported(n, path, "Softmax over an axis other than 1 (channels)")
            gop, args = "activation", {"fn": "softmax"}
        elif op in _MERGE and len(ins) == len(n.input):
            gop = _MERGE[op]
        elif op in ("Gemm", "MatMul"):
            w = consts_in[0] if consts_in else None
            if w is None or w.ndim != 2 or len(ins) != 1:
                raise _unsupported(n, path, f"{op} without a constant weight matrix")
            trans_b = op == "Gemm" and int(a.get("transB", 0)) == 1
            w = w if trans_b else w.T  # -> (out, in)
            if float(a.get("alpha", 1.0)) != 1.0 or int(a.get("transA", 0)):
                raise _unsupported(n, path, "Gemm with alpha != 1 or transA")
            args = dict(in_features=w.shape[1], out_features=w.shape[0], bias=len(consts_in) > 1)
            st["linear.weight"] = w
            if len(consts_in) > 1:
                st["linear.bias"] = consts_in[1] * float(a.get("beta", 1.0))
            gop = "dense"
        elif op == "Flatten":
            if int(a.get("axis", 1)) != 1:
                raise _unsupported(n, path, "Flatten with axis != 1")
            gop, args = "flatten", {"channels_last": False}
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            gop = "global_avgpool" if "Average" in op else "global_maxpool"  # -> (N, C)
        elif op in ("MaxPool", "AveragePool"):
            pads = list(a.get("pads", [0, 0]))
            size = int(a["kernel_shape"][0])
            args = {
                "size": size,
                "stride": int(a.get("strides", [size])[0]),
                "padding": [int(pads[0]), int(pads[-1])],
            }
            gop = "maxpool" if op == "MaxPool" else "avgpool"
        elif op == "Concat":
            gop, args = "concat", {"axis": int(a.get("axis", 1))}
        elif op in ("Identity", "Dropout"):
            gop = "identity"
        else:
            raise _unsupported(n, path)
        nodes.append(
            {
                "name": name,
                "op": gop,
                "inputs": ins[: 1 if gop not in _MULTI else None],
                "args": args,
            }
        )
        for k, v in st.items():
            state[f"layers.{_key(name)}.{k}"] = torch.from_numpy(np.ascontiguousarray(v))
        if gop == "batchnorm":
            state[f"layers.{_key(name)}.num_batches_tracked"] = torch.tensor(0)
    outs = [o.name for o in graph.output]
    return nodes, outs, state


_MULTI = {"add", "subtract", "multiply", "maximum", "minimum", "concat"}


def _unsupported(node, path: Path, detail: str | None = None) -> InputFileError:
    what = f"ONNX node {node.name or node.output[0]!r} of type {node.op_type}"
    if detail:
        return InputFileError(f"{what} is {detail}, which the importer does not support", path=path)
    return InputFileError(
        f"{what} is not supported by the ONNX importer; supported operations: {', '.join(ONNX_OPS)}",
        path=path,
        fix="re-export the model without that operation, or fold it into supported layers",
    )


def onnx_model(path: str | os.PathLike, **kwargs: Any) -> ImportedGraph:
    """The model of an ONNX file as an :class:`ImportedGraph` in eval mode, weights loaded."""
    nodes, outs, state = read_onnx(path)
    model = ImportedGraph(
        nodes=nodes, outputs=outs, source={"format": "onnx", "file": Path(path).name}, **kwargs
    )
    model.load_state_dict(state)
    return model.eval()
