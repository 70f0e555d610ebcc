"""Assemble a model for the data a config describes: new, or started from a pretrained package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from genodeep._signature import parameters, type_hints
from genodeep._validate import check_choice
from genodeep.data.bundle import (
    DataBundle,
    prepend_missing_tasks,
)
from genodeep.models import MODELS, build_model, input_kinds
from genodeep.models.baselines import fit_baselines
from genodeep.train.fit import fit
from genodeep.train.transfer import fine_tune, prepare_transfer
from genodeep.zoo import load

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


def fit_parameters(*, transfer: bool = False):
    """(parameters, type hints) of :func:`genodeep.train.fit` that a ``training:`` section may set;
    with ``transfer`` (a ``model: {pretrained: ...}`` config) also those of
    :func:`genodeep.train.transfer.fine_tune` (``pretrained_lr_scale``, ...)."""

    params = parameters(fit, skip_positional=3, exclude=_FIT_SUPPLIED)
    hints = type_hints(fit)
    if transfer:
        params = {**params, **parameters(fine_tune, skip_positional=3, exclude=params)}
        hints = {**type_hints(fine_tune), **hints}
    return params, hints


def baseline_parameters():
    """(parameters, type hints) of :func:`fit_baselines` that a ``baselines:`` section may set."""

    params = parameters(fit_baselines, skip_positional=4, exclude=("kind", "verbose"))
    return params, type_hints(fit_baselines)


#: constructor arguments that only data can supply (never read from a config's ``model:`` section)
DATA_ONLY_MODEL_ARGS = ("graph",)


def check_model_input(name: str, input_kind: str) -> None:
    """Raise ``ValueError`` when architecture ``name`` cannot read data of ``input_kind``."""

    kinds = input_kinds(name)
    if input_kind in kinds:
        return
    hint = {
        "sequence": "genome, fasta or simulate",
        "multimodal": "simulate_multimodal, or genome with tracks:/features:",
        "graph_nodes": "graph (nodes: rows) or simulate_graph",
        "graph_features": "graph with nodes: columns",
    }
    want = "; ".join(f"{k}: data.kind {hint.get(k, '?')}" for k in kinds)
    raise ValueError(
        f"model {name!r} reads {' or '.join(kinds)} input but the data gives {input_kind} input. "
        f"Fix: use a model for {input_kind} data, or data of the model's kind ({want})"
    )


def build_model_from_config(
    model: Mapping[str, Any],
    *,
    n_tasks: int,
    input_length: int | None,
    data_args: Mapping[str, Any] | None = None,
    input_kind: str = "sequence",
):
    """``build_model(name, **kwargs)``, filling ``n_tasks``, ``input_length`` and ``data_args``
    (what the data decides: track channels, feature counts, the graph) from the data.

    Parameters
    ----------
    model : mapping
        A validated ``model:`` section (``name`` + constructor arguments).
    n_tasks, input_length : int
        Label columns and sequence length of the data.
    data_args : mapping, optional
        :attr:`DataBundle.model_args`; each argument the architecture accepts is filled in.
    input_kind : str
        :attr:`DataBundle.input_kind`, checked against the architecture's input kinds.

    A value given in the config that contradicts the data raises ``ValueError``.
    """

    kwargs = dict(model)
    name = kwargs.pop("name")
    check_choice("model.name", name, MODELS)
    check_model_input(name, input_kind)
    accepted = parameters(MODELS[name])
    fill = {"n_tasks": n_tasks, "input_length": input_length, **dict(data_args or {})}
    for key, value in fill.items():
        if key not in accepted or value is None:
            continue
        given = kwargs.get(key)
        if key not in DATA_ONLY_MODEL_ARGS and given is not None and int(given) != int(value):
            raise ValueError(
                f"model.{key}={given} does not match the data ({value}); remove the key to take it "
                "from the data"
            )
        kwargs[key] = value
    return build_model(name, **kwargs)


#: keys of a ``model:`` section that start from a trained model (:func:`prepare_transfer`'s)
_TRANSFER_SUPPLIED = ("n_tasks", "random_state")


def transfer_parameters():
    """(parameters, type hints) of :func:`genodeep.train.transfer.prepare_transfer` that a ``model:``
    section with ``pretrained:`` may set."""

    return parameters(prepare_transfer, exclude=_TRANSFER_SUPPLIED), type_hints(prepare_transfer)


def registered_name(model: torch.nn.Module) -> str:
    """The :data:`genodeep.models.MODELS` name of a model's class."""

    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the architectures: {', '.join(MODELS)}")


def model_for_data(section: Mapping[str, Any], data: DataBundle, *, random_state: int = 0):
    """The model a ``model:`` section describes, for ``data``: a new one, or a pretrained one.

    With ``pretrained:`` the model is :func:`~genodeep.train.transfer.prepare_transfer`'s (head
    replaced/extended/kept for the data's tasks, layers frozen); the data's graph, if any, replaces
    the pretrained one. ``head: add`` appends the data's tasks after the pretrained tasks, whose
    labels are missing (NaN) here: ``data`` gets those columns and task names.

    Returns
    -------
    (model, name) : the model and its architecture name.
    """
    section = dict(section)
    if not section.get("pretrained"):
        model = build_model_from_config(
            section,
            n_tasks=len(data.task_names),
            input_length=data.input_length,
            data_args=data.model_args,
            input_kind=data.input_kind,
        )
        return model, section["name"]

    name = section.pop("name", None)
    head = section.get("head", "replace")
    model = prepare_transfer(
        n_tasks=None if head == "keep" else len(data.task_names),
        random_state=random_state,
        **section,
    )
    actual = registered_name(model)
    if name is not None and name != actual:
        raise ValueError(
            f"model.name={name!r} but the pretrained model is a {actual!r}; remove model.name or fix it"
        )
    check_model_input(actual, data.input_kind)
    graph = data.model_args.get("graph")
    if graph is not None and callable(getattr(model, "set_graph", None)):
        model.set_graph(graph)
    old = list(load(section["pretrained"]).spec.task_names)
    if head == "keep" and model.n_tasks != len(data.task_names):
        raise ValueError(
            f"head: keep trains the pretrained model's {model.n_tasks} task(s) but the data has "
            f"{len(data.task_names)}; use head: replace (new tasks) or add (extra tasks)"
        )
    if head == "add":
        n_old = model.n_tasks - len(data.task_names)
        old = old if len(old) == n_old else [f"pretrained_{i}" for i in range(n_old)]
        for part in (data.train, data.valid, data.test):
            prepend_missing_tasks(part, n_old)
        data.task_names = [*old, *data.task_names]
    return model, actual
