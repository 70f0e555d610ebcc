"""A model rebuilt from a stored layer graph: how imported (Keras, ONNX) models run without their code.

:class:`ImportedGraph` takes a list of nodes, each ``{"name", "op", "inputs", "args"}``, and builds one
``nn.Module`` per node. The graph is its constructor argument, so a package of an imported model rebuilds
from ``config.json`` alone, like any other genodeep architecture. Tensors follow the house layout:
sequences ``(N, C, L)`` (channels first), vectors ``(N, F)``; importers translate channel-last graphs
(Keras) into it.

Operations (``op`` -> ``args``):

- ``input``: ``channels``, ``length`` (None for any)
- ``conv1d``: ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``dilation``,
  ``padding`` ``[left, right]``, ``bias``, ``activation``
- ``dense``: ``in_features``, ``out_features``, ``bias``, ``activation`` (on the channel axis of a
  ``(N, C, L)`` input)
- ``batchnorm``: ``channels``, ``eps``, ``affine``
- ``activation``: ``fn`` (one of :data:`ACTIVATIONS`)
- ``add``, ``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``: elementwise over inputs
- ``concat``: ``axis`` (of the house layout)
- ``crop``: ``left``, ``right`` positions removed
- ``pad``: ``left``, ``right`` zero positions added
- ``maxpool``, ``avgpool``: ``size``, ``stride``, ``padding`` ``[left, right]``
- ``global_avgpool``, ``global_maxpool``; ``masked_global_avgpool`` (inputs: activations, the one-hot
  input; the mean over positions whose input is not all zero)
- ``flatten``: ``channels_last`` (flatten ``(N, C, L)`` in ``L``-major order, as Keras does)
- ``identity`` (dropout and other inference no-ops)

>>> nodes = [
...     {"name": "x", "op": "input", "inputs": [], "args": {"channels": 4}},
...     {"name": "c", "op": "conv1d", "inputs": ["x"], "args": {"in_channels": 4,
...      "out_channels": 2, "kernel_size": 3, "padding": [1, 1], "activation": "relu"}},
... ]
>>> model = ImportedGraph(nodes=nodes, outputs=["c"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genodeep.models.base import SequenceModel
from genodeep.nn.layers import Exp, GlobalPool

__all__ = ["ImportedGraph", "ACTIVATIONS", "OPS"]


class _HardSigmoid(nn.Module):
    """Keras' ``hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 0.2 + 0.5).clamp(0.0, 1.0)


#: activation name (Keras spelling) -> module factory; softmax runs over the channel axis (dim 1)
ACTIVATIONS: dict[str, Any] = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softmax": lambda: nn.Softmax(dim=1),
    "exponential": Exp,
    "softplus": nn.Softplus,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "hard_sigmoid": _HardSigmoid,
}


def _activation(name: str | None, node: str) -> nn.Module:
    name = name or "linear"
    if name not in ACTIVATIONS:
        raise ValueError(
            f"node {node!r}: activation {name!r} is not supported; supported: {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]()


class _Merge(nn.Module):
    """Elementwise merge of several tensors of one shape."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.mode == "subtract":
            return xs[0] - xs[1]
        out = xs[0]
        for x in xs[1:]:
            if self.mode in ("add", "average"):
                out = out + x
            elif self.mode == "multiply":
                out = out * x
            elif self.mode == "maximum":
                out = torch.maximum(out, x)
            else:
                out = torch.minimum(out, x)
        return out / len(xs) if self.mode == "average" else out

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class _Concat(nn.Module):
    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(xs), dim=self.axis)


class _Crop(nn.Module):
    def __init__(self, left: int, right: int) -> None:
        super().__init__()
        self.left, self.right = int(left), int(right)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.left : x.shape[-1] - self.right]

    def extra_repr(self) -> str:
        return f"left={self.left}, right={self.right}"


class _Flatten(nn.Module):
    def __init__(self, channels_last: bool) -> None:
        super().__init__()
        self.channels_last = bool(channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.ndim == 3:
            x = x.transpose(1, 2)
        return x.reshape(x.shape[0], -1)


class _Dense(nn.Module):
    """A linear layer (+ activation) on the last axis of ``(N, F)`` or the channel axis of ``(N, C, L)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool, act: nn.Module) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            return self.act(self.linear(x.transpose(1, 2)).transpose(1, 2))
        return self.act(self.linear(x))


class _MaskedMean(nn.Module):
    """Mean over the positions whose one-hot input is not all zero (MMSplice's masked pooling)."""

    def __init__(self, eps: float = 1e-7) -> None:
        super().__init__()
        self.eps = float(eps)

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        x, inp = xs
        mask = inp.amax(dim=1, keepdim=True)
        return (x * mask).sum(-1) / mask.sum(-1).clamp_min(self.eps)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


class _Conv1d(nn.Conv1d):
    """``nn.Conv1d`` (same weights and state dict) that runs on the CPU as a channels-last 2-d
    convolution (oneDNN's fast path, about 2x faster for SpliceAI's dilated 41-tap layers), or a matrix
    product for 1-tap kernels. The output keeps the channels-last strides, so a chain of convolutions
    converts the layout once."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or self.padding_mode != "zeros" or self.groups != 1:
            return super().forward(x)
        if self.kernel_size[0] == 1 and self.stride[0] == 1 and self.padding[0] == 0:
            return F.linear(x.transpose(1, 2), self.weight[:, :, 0], self.bias).transpose(1, 2)
        x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(
            x4,
            self.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last),
            self.bias,
            stride=(1, self.stride[0]),
            padding=(0, self.padding[0]),
            dilation=(1, self.dilation[0]),
        )
        return y.squeeze(2)


class _BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose eval forward is a per-channel affine map that keeps the input's
    strides (so channels-last activations between convolutions stay channels-last)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or x.ndim != 3 or not self.track_running_stats:
            return super().forward(x)
        scale = torch.rsqrt(self.running_var + self.eps)
        if self.affine:
            scale = scale * self.weight
        shift = -self.running_mean * scale
        if self.affine:
            shift = shift + self.bias
        return torch.addcmul(shift[:, None], x, scale[:, None])


def _conv(a: dict, name: str) -> nn.Module:
    left, right = _pair(a.get("padding", 0))
    conv = _Conv1d(
        int(a["in_channels"]),
        int(a["out_channels"]),
        int(a["kernel_size"]),
        stride=int(a.get("stride", 1)),
        dilation=int(a.get("dilation", 1)),
        padding=left if left == right else 0,
        bias=bool(a.get("bias", True)),
    )
    layers: list[nn.Module] = [] if left == right else [nn.ConstantPad1d((left, right), 0.0)]
    layers += [conv, _activation(a.get("activation"), name)]
    return nn.Sequential(*layers)


def _pool(a: dict, kind: str) -> nn.Module:
    left, right = _pair(a.get("padding", 0))
    size = int(a["size"])
    stride = int(a.get("stride") or size)
    if kind == "maxpool":
        pool: nn.Module = nn.MaxPool1d(size, stride)
        fill = float("-inf")
    else:
        pool = nn.AvgPool1d(size, stride)
        fill = 0.0
    return (
        pool if left == right == 0 else nn.Sequential(nn.ConstantPad1d((left, right), fill), pool)
    )


#: op name -> builder(args, node name) -> module (``input`` has no module)
OPS: dict[str, Any] = {
    "conv1d": _conv,
    "dense": lambda a, n: _Dense(
        int(a["in_features"]),
        int(a["out_features"]),
        bool(a.get("bias", True)),
        _activation(a.get("activation"), n),
    ),
    "batchnorm": lambda a, n: _BatchNorm1d(
        int(a["channels"]), eps=float(a.get("eps", 1e-3)), affine=bool(a.get("affine", True))
    ),
    "activation": lambda a, n: _activation(a.get("fn"), n),
    "add": lambda a, n: _Merge("add"),
    "subtract": lambda a, n: _Merge("subtract"),
    "multiply": lambda a, n: _Merge("multiply"),
    "average": lambda a, n: _Merge("average"),
    "maximum": lambda a, n: _Merge("maximum"),
    "minimum": lambda a, n: _Merge("minimum"),
    "concat": lambda a, n: _Concat(int(a["axis"])),
    "crop": lambda a, n: _Crop(a.get("left", 0), a.get("right", 0)),
    "pad": lambda a, n: nn.ConstantPad1d((int(a.get("left", 0)), int(a.get("right", 0))), 0.0),
    "maxpool": lambda a, n: _pool(a, "maxpool"),
    "avgpool": lambda a, n: _pool(a, "avgpool"),
    "global_avgpool": lambda a, n: GlobalPool("avg"),
    "global_maxpool": lambda a, n: GlobalPool("max"),
    "masked_global_avgpool": lambda a, n: _MaskedMean(a.get("eps", 1e-7)),
    "flatten": lambda a, n: _Flatten(a.get("channels_last", False)),
    "identity": lambda a, n: nn.Identity(),
}
_MULTI_INPUT = {
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concat",
    "masked_global_avgpool",
}


def _key(name: str) -> str:
    """A module name for a node (``.`` is not allowed in module names)."""
    return name.replace(".", "_").replace("/", "_") or "_"


class ImportedGraph(SequenceModel):
    """A network rebuilt from a stored graph of layers (see the module docstring for the operations).

    Parameters
    ----------
    nodes : list of dict
        The layers in an order where every node comes after its inputs: ``{"name": str, "op": str,
        "inputs": [names], "args": {...}}``.
    outputs : list of str
        The node(s) whose values the model returns (a tuple when several).
    n_tasks : int, optional
        Number of output tasks ``T`` (default: the output's channel count when it can be read from
        its node, else 1).
    input_length : int, optional
        Required input length ``L`` (None: any length the graph accepts).
    source : dict, optional
        Where the graph came from (format, file name); kept in the config for the record.

    Input ``(N, C, L)`` one-hot (``C`` from the first ``input`` node); output as the graph gives it,
    e.g. ``(N, T, L_out)`` for a convolutional output or ``(N, T)`` for a dense one.
    """

    def __init__(
        self,
        nodes: list[dict[str, Any]],
        outputs: list[str],
        n_tasks: int | None = None,
        input_length: int | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        names: set[str] = set()
        self.layers = nn.ModuleDict()
        self._plan: list[tuple[str, str, str, tuple[str, ...]]] = []
        self._inputs: list[str] = []
        channels = None
        for node in nodes:
            name, op = str(node["name"]), str(node["op"])
            inputs = tuple(str(i) for i in node.get("inputs", []))
            missing = [i for i in inputs if i not in names]
            if missing:
                raise ValueError(
                    f"node {name!r} reads {missing} before they are defined; list nodes so that "
                    "every node comes after its inputs"
                )
            args = dict(node.get("args") or {})
            if op == "input":
                self._inputs.append(name)
                channels = channels if channels is not None else int(args.get("channels", 4))
            elif op in OPS:
                key = _key(name)
                if key in self.layers:
                    raise ValueError(f"two nodes map to the module name {key!r}; rename one")
                self.layers[key] = OPS[op](args, name)
                self._plan.append((name, key, op, inputs))
            else:
                raise ValueError(
                    f"node {name!r}: operation {op!r} is not supported; supported: input, "
                    f"{', '.join(OPS)}"
                )
            names.add(name)
        unknown = [o for o in outputs if o not in names]
        if not self._inputs or unknown:
            raise ValueError(
                f"the graph needs at least one input node and outputs among its nodes; "
                f"inputs={self._inputs}, unknown outputs={unknown}"
            )
        self.outputs = [str(o) for o in outputs]
        last = {n: -1 for n in names}
        for k, (_, _, _, inputs) in enumerate(self._plan):
            last.update({i: k for i in inputs})
        self._free: list[list[str]] = [[] for _ in self._plan]
        for n, k in last.items():
            if n not in self.outputs and k >= 0:
                self._free[k].append(n)
        self.in_channels = 4 if channels is None else channels
        self.input_length = None if input_length is None else int(input_length)
        self.n_tasks = int(n_tasks) if n_tasks is not None else self._guess_tasks(nodes)

    def graph(self) -> list[tuple[str, str, tuple[str, ...], dict[str, Any], nn.Module | None]]:
        """The nodes in their order: ``(name, op, inputs, args, module)`` (module None for inputs).

        For code that runs the graph its own way (e.g. over position ranges,
        :class:`genodeep.variants.splice.LocalPlan`) with this model's weights.
        """
        out = []
        for node in self.config["nodes"]:
            name, op = str(node["name"]), str(node["op"])
            module = None if op == "input" else self.layers[_key(name)]
            inputs = tuple(str(i) for i in node.get("inputs", []))
            out.append((name, op, inputs, dict(node.get("args") or {}), module))
        return out

    def _guess_tasks(self, nodes: list[dict[str, Any]]) -> int:
        by_name = {str(n["name"]): n for n in nodes}
        args = by_name[self.outputs[-1]].get("args") or {}
        return int(args.get("out_channels") or args.get("out_features") or 1)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Run the graph: one tensor per ``input`` node, ``(N, C, L)``; returns the output node(s)."""
        if len(xs) != len(self._inputs):
            raise ValueError(
                f"this imported model takes {len(self._inputs)} input(s) ({', '.join(self._inputs)}); "
                f"got {len(xs)}"
            )
        values: dict[str, torch.Tensor] = {}
        for name, x in zip(self._inputs, xs):
            values[name] = self._check_input(x) if x.ndim == 3 else x.float()
        for (name, key, op, inputs), done in zip(self._plan, self._free):
            layer = self.layers[key]
            if op in _MULTI_INPUT:
                values[name] = layer([values[i] for i in inputs])
            else:
                values[name] = layer(values[inputs[0]])
            for i in done:  # values no later node reads: free them as soon as possible
                del values[i]
        out = tuple(values[o].contiguous() for o in self.outputs)
        return out[0] if len(out) == 1 else out

    def output_shape(self, length: int | None = None) -> tuple:
        """Shape of one example's output for inputs of ``length`` positions (by a dry run)."""
        length = self._resolve_length(length)
        with torch.no_grad():
            was = self.training
            self.eval()
            y = self(*[torch.zeros(1, self.in_channels, length) for _ in self._inputs])
            self.train(was)
        y = y[-1] if isinstance(y, tuple) else y
        return tuple(y.shape[1:])
