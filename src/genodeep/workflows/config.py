"""The YAML schema of ``genodeep train``: five sections whose keys are the API's keyword arguments.

.. code-block:: yaml

    description: free text (optional)
    data:                     # kind + keyword arguments of the loader for that kind
      kind: genome            # genome | fasta | simulate | simulate_multimodal | graph |
                              # simulate_graph   (see genodeep.data.sources.DATA_KINDS)
      genome: example:genome  # paths are relative to this file; example:NAME = genodeep.example_data
      beds: example:insulator_peaks
      width: 500
      valid: chr2R_6M_14M:5000000-6000000
      test: chr2R_6M_14M:6000000-8000000
    model:                    # name + keyword arguments of genodeep.models.build_model(name, ...)
      name: basset            # or pretrained: RUN + prepare_transfer's keys (head, freeze, ...)
    training:                 # keyword arguments of genodeep.train.fit(...)
      max_epochs: 10
      lr: 0.001
    baselines:                # true, or keyword arguments of genodeep.models.baselines.fit_baselines
      models: [logistic, random_forest, gradient_boosting]
      k: 4
    output:                   # fields of OutputOptions
      plots: true

The valid keys are read from the signatures of the functions that receive them, so this schema cannot
drift from the API: an unknown key is an error that lists the valid ones, a value of the wrong type is an
error naming the file and the key path (``data.width``), and a missing input file is an error naming the
key that points to it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from genodeep import example_data
from genodeep._io_utils import atomic_write
from genodeep._signature import check_type, is_path_hint, parameters, plain, type_hints, type_name
from genodeep._validate import near_matches
from genodeep.data.sources import DATA_KINDS, loader_parameters
from genodeep.models import MODELS
from genodeep.models.baselines import BASELINES
from genodeep.workflows.assemble import (
    DATA_ONLY_MODEL_ARGS,
    baseline_parameters,
    fit_parameters,
    transfer_parameters,
)
from genodeep.workflows.auto import AUTO, CANDIDATES

SECTIONS = ("data", "model", "training", "baselines", "output")
#: ``search`` holds the search space of ``genodeep tune``; ``genodeep train`` ignores it.
TOP_LEVEL_KEYS = (*SECTIONS, "description", "search")

#: Prefix of a value that names shipped data: ``example:genome`` -> ``genodeep.example_data.genome()``.
EXAMPLE_PREFIX = "example:"


class ConfigError(ValueError):
    """A problem in a training config: says the file, the key path, the rule and the fix."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        self.source = source
        self.key = key
        where = ""
        if source:
            where += f"{source}: "
        if key:
            where += f"{key}: "
        super().__init__(where + message)


@dataclass
class OutputOptions:
    """The ``output:`` section.

    Attributes
    ----------
    dir : str, optional
        Run folder, used when ``--out`` (``out_dir=``) is not given; relative to the current folder.
    plots : bool
        Write training curves and ROC/PR curves as PNG.
    predictions : bool
        Write test-split predictions (``predictions.tsv`` and ``predictions.npz``).
    save_model : bool
        Save the trained model as a package folder ``model/`` (safetensors + config JSON).
    """

    dir: str | None = None
    plots: bool = True
    predictions: bool = True
    save_model: bool = True


# --------------------------------------------------------------------------------------------------
# signatures -> valid keys and type hints


def check_section(
    section: Mapping[str, Any],
    params: Mapping[str, inspect.Parameter],
    hints: Mapping[str, Any],
    *,
    key_prefix: str,
    source: str | None,
    extra: Iterable[str] = (),
    required: bool = True,
) -> None:
    """Raise :class:`ConfigError` for unknown keys, wrong types, or missing required keys."""
    valid = [*extra, *params]
    for key, value in section.items():
        if key in extra:
            continue
        if key not in params:
            hint = near_matches(str(key), valid)
            did = f" (did you mean {', '.join(hint)}?)" if hint else ""
            raise ConfigError(
                f"unknown key {key!r}{did}; valid keys are: {', '.join(valid)}",
                source=source,
                key=f"{key_prefix}.{key}" if key_prefix else str(key),
            )
        hint = hints.get(key)
        if hint is not None and not check_type(value, hint):
            raise ConfigError(
                f"expected {type_name(hint)}, got {type(value).__name__} {value!r}",
                source=source,
                key=f"{key_prefix}.{key}",
            )
    if required:
        for name, p in params.items():
            if p.default is inspect.Parameter.empty and name not in section:
                raise ConfigError(
                    f"missing required key {name!r}; add it (valid keys are: {', '.join(valid)})",
                    source=source,
                    key=key_prefix,
                )


# --------------------------------------------------------------------------------------------------
# paths


def resolve_example(value: str) -> Any:
    """``example:genome`` -> the path of :func:`genodeep.example_data.genome`; ``example:NAME/KEY``
    picks one entry of a mapping (``example:insulator_peaks/BEAF_Kc``)."""

    ref = value[len(EXAMPLE_PREFIX) :]
    name, _, key = ref.partition("/")
    getter = getattr(example_data, name, None)
    available = [
        n
        for n, f in vars(example_data).items()
        if callable(f)
        and not n.startswith("_")
        and getattr(f, "__module__", "") == example_data.__name__
    ]
    if getter is None or name not in available:
        raise ValueError(
            f"unknown shipped data {value!r}; available: {', '.join(EXAMPLE_PREFIX + a for a in available)}"
        )
    result = getter()
    if key:
        if not isinstance(result, Mapping) or key not in result:
            keys = list(result) if isinstance(result, Mapping) else []
            raise ValueError(
                f"{value!r}: {EXAMPLE_PREFIX}{name} has no entry {key!r}; entries: {', '.join(keys)}"
            )
        result = result[key]
    if isinstance(result, Mapping):
        return {k: str(v) for k, v in result.items()}
    return str(result)


def resolve_path(value: Any, base: Path | None, *, source: str | None, key: str) -> Any:
    """Resolve path values: ``example:`` references, and relative paths against the config's folder.

    Mappings and lists of paths are resolved element-wise. Missing files raise :class:`ConfigError`.
    """
    if value is None:
        return None
    if isinstance(value, Mapping) and "path" in value:  # a file with options, e.g. a track spec
        return {
            **value,
            "path": resolve_path(value["path"], base, source=source, key=f"{key}.path"),
        }
    if isinstance(value, Mapping):
        return {k: resolve_path(v, base, source=source, key=f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [
            resolve_path(v, base, source=source, key=f"{key}[{i}]") for i, v in enumerate(value)
        ]
    if not isinstance(value, (str, os.PathLike)):
        return value
    text = os.fspath(value)
    if text.startswith(EXAMPLE_PREFIX):
        try:
            resolved = resolve_example(text)
        except ValueError as err:
            raise ConfigError(str(err), source=source, key=key) from None
        if isinstance(resolved, Mapping):
            return resolve_path(resolved, None, source=source, key=key)
        text = resolved
    p = Path(os.path.expanduser(text))
    if not p.is_absolute() and base is not None:
        p = base / p
    if not p.exists():
        raise ConfigError(
            f"file not found: {p} (relative paths are read from the config file's folder)",
            source=source,
            key=key,
        )
    return str(p.resolve())


# --------------------------------------------------------------------------------------------------
# the sections


def _validate_data(section: Any, *, base: Path | None, source: str | None) -> dict:

    if not isinstance(section, Mapping):
        raise ConfigError(
            f"expected a mapping, got {type(section).__name__}", source=source, key="data"
        )
    kind = section.get("kind")
    if kind not in DATA_KINDS:
        raise ConfigError(
            f"kind={kind!r} is not valid; choose one of: {', '.join(DATA_KINDS)}",
            source=source,
            key="data.kind",
        )
    params, hints = loader_parameters(kind, section)
    body = {k: v for k, v in section.items() if k != "kind"}
    # paths first (an ``example:`` reference may stand for a mapping), then names and types
    for key, value in body.items():
        hint = hints.get(key)
        if key in params and hint is not None and is_path_hint(hint):
            body[key] = resolve_path(value, base, source=source, key=f"data.{key}")
    check_section(body, params, hints, key_prefix="data", source=source, extra=("kind",))
    return {"kind": kind, **body}


def _validate_model(section: Any, *, base: Path | None = None, source: str | None) -> dict:

    if not isinstance(section, Mapping):
        raise ConfigError(
            f"expected a mapping with a 'name', got {type(section).__name__}",
            source=source,
            key="model",
        )
    name = section.get("name")
    body = {k: v for k, v in section.items() if k != "name"}
    if name == AUTO:
        hints = {"candidates": list[str], "budget": float}
        check_section(
            body, {"candidates": None, "budget": 4.0}, hints, key_prefix="model", source=source,
            extra=("name",), required=False,
        )  # fmt: skip
        unknown = [c for c in body.get("candidates") or [] if c not in CANDIDATES]
        if unknown:
            raise ConfigError(
                f"{unknown} are not auto candidates; choose among {', '.join(CANDIDATES)}",
                source=source,
                key="model.candidates",
            )
        return {"name": AUTO, **body}
    if body.get("pretrained") is not None:
        # start from a trained model: prepare_transfer's arguments, the architecture is the saved one
        params, hints = transfer_parameters()
        for key in ("pretrained", "checkpoint"):
            if key in body:
                body[key] = resolve_path(body[key], base, source=source, key=f"model.{key}")
        if name is not None and name not in MODELS:
            raise ConfigError(
                f"name={name!r} is not a model; choose one of: {', '.join(MODELS)} (or leave it out "
                "to take the pretrained model's)",
                source=source,
                key="model.name",
            )
        check_section(
            body, params, hints, key_prefix="model", source=source, extra=("name",), required=False
        )
        return {**({"name": name} if name is not None else {}), **body}
    if name not in MODELS:
        raise ConfigError(
            f"name={name!r} is not a model; choose one of: {', '.join(MODELS)}, or auto",
            source=source,
            key="model.name",
        )
    cls = MODELS[name]
    params = parameters(cls, exclude=DATA_ONLY_MODEL_ARGS)
    check_section(
        body,
        params,
        type_hints(cls),
        key_prefix="model",
        source=source,
        extra=("name", "pretrained"),
        required=False,
    )
    return {"name": name, **body}


def _validate_training(section: Any, *, source: str | None, transfer: bool = False) -> dict:

    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigError(
            f"expected a mapping, got {type(section).__name__}", source=source, key="training"
        )
    params, hints = fit_parameters(transfer=transfer)
    check_section(section, params, hints, key_prefix="training", source=source, required=False)
    return dict(section)


def _validate_baselines(section: Any, *, source: str | None) -> dict | None:

    if section is None or section is False:
        return None
    if section is True:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigError(
            f"expected true/false or a mapping, got {type(section).__name__}",
            source=source,
            key="baselines",
        )
    params, hints = baseline_parameters()
    check_section(section, params, hints, key_prefix="baselines", source=source, required=False)
    for name in section.get("models") or ():
        if name not in BASELINES:
            raise ConfigError(
                f"{name!r} is not a baseline; choose from: {', '.join(BASELINES)}",
                source=source,
                key="baselines.models",
            )
    return dict(section)


def _validate_output(section: Any, *, source: str | None) -> dict:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigError(
            f"expected a mapping, got {type(section).__name__}", source=source, key="output"
        )
    params = {
        f.name: inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
        for f in fields(OutputOptions)
    }
    check_section(
        section,
        params,
        type_hints(OutputOptions),
        key_prefix="output",
        source=source,
        required=False,
    )
    return dict(section)


def validate_config(
    config: Mapping[str, Any], *, source: str | None = None, base: str | os.PathLike | None = None
) -> dict:
    """Check a config mapping against the API's signatures and resolve its paths.

    Parameters
    ----------
    config : mapping
        Parsed YAML with the sections ``data``, ``model``, ``training``, ``baselines``, ``output``.
    source : str, optional
        Name of the file it came from (used in error messages).
    base : path, optional
        Folder that relative paths are read from (default: the current folder).

    Returns
    -------
    config : dict
        A new dict: sections validated, paths absolute, ``baselines`` ``None`` or a dict.

    Raises
    ------
    ConfigError
        (a ``ValueError``) naming the file, the key path, the rule and the valid keys.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"a config must be a mapping of sections, got {type(config).__name__}", source=source
        )
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"unknown section {key!r}; valid sections are: {', '.join(TOP_LEVEL_KEYS)}",
                source=source,
                key=str(key),
            )
    if "data" not in config:
        raise ConfigError("missing section 'data'", source=source)
    base_path = Path(base) if base is not None else Path.cwd()
    out: dict[str, Any] = {}
    if "description" in config:
        out["description"] = str(config["description"])
    out["data"] = _validate_data(config["data"], base=base_path, source=source)
    model = config.get("model", {"name": AUTO})  # no model: the default path, model: auto
    if model == AUTO:
        model = {"name": AUTO}
    out["model"] = _validate_model(model, base=base_path, source=source)
    transfer = bool(isinstance(model, Mapping) and model.get("pretrained"))
    out["training"] = _validate_training(config.get("training"), source=source, transfer=transfer)
    out["baselines"] = _validate_baselines(config.get("baselines"), source=source)
    out["output"] = _validate_output(config.get("output"), source=source)
    return out


def apply_overrides(
    config: Mapping[str, Any], overrides: Mapping[str, Any] | Iterable[str] | None
) -> dict:
    """Return a copy of ``config`` with dotted-key overrides applied.

    Parameters
    ----------
    overrides : mapping ``{"training.max_epochs": 3}`` or strings ``"training.max_epochs=3"``
        String values are parsed as YAML (``3`` -> int, ``true`` -> bool, ``[a, b]`` -> list).
    """
    import copy

    import yaml

    out = copy.deepcopy(dict(config))
    if not overrides:
        return out
    items: list[tuple[str, Any]] = []
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        for text in overrides:
            key, sep, raw = str(text).partition("=")
            if not sep or not key:
                raise ValueError(
                    f"override {text!r} should look like SECTION.KEY=VALUE, e.g. training.lr=0.01"
                )
            items.append((key.strip(), yaml.safe_load(raw)))
    for key, value in items:
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None or child is True:
                child = {}
            if not isinstance(child, dict):
                raise ValueError(f"override {key!r}: {part!r} is not a section")
            node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def load_config(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> dict:
    """Read (if a path), apply overrides, validate and resolve a training config.

    Parameters
    ----------
    config : path to a YAML file, or a mapping
        Relative paths inside a file are read from the file's folder; inside a mapping, from the
        current folder.
    overrides : mapping or list of "KEY=VALUE" strings, optional
        Dotted keys, e.g. ``{"training.max_epochs": 2}``, applied before validation.

    Returns
    -------
    config : dict
        Validated, with absolute paths (see :func:`validate_config`).
    """

    source = None
    base = None
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.exists():
            raise FileNotFoundError(f"config file not found: {path}")
        source = str(path)
        base = path.resolve().parent
        parsed = read_yaml(path)
        if parsed is None:
            raise ConfigError("the file is empty", source=source)
        config = parsed
    merged = apply_overrides(config, overrides)
    return validate_config(merged, source=source, base=base)


def read_yaml(path: str | os.PathLike) -> Any:
    """Parse a YAML file, refusing a key given twice in one mapping (YAML parsers keep the last one
    silently, so a config could say one thing and do another).

    Raises :class:`ConfigError` naming the file, the line and the key.
    """
    import yaml

    class _UniqueKeys(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"line {key_node.start_mark.line + 1}: key {key!r} is given twice in one section "
                    f"(first on line {seen[key]}); YAML would keep only the last value. Fix: keep one",
                    source=os.fspath(path),
                )
            seen[key] = key_node.start_mark.line + 1
        return loader.construct_mapping(node, deep=deep)

    _UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML ({err})", source=os.fspath(path)) from None


def config_text(config: Mapping[str, Any]) -> str:
    """A (resolved) config as YAML text: flat lists on one line, sections as blocks, keys in order."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _list(dumper, data):  # [1, 2, 3] on one line; nested structures as blocks
        flow = all(not isinstance(v, (list, dict)) for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(list, _list)
    return yaml.dump(
        plain(config), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
    )


def dump_config(config: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a (resolved) config as YAML, atomically."""
    with atomic_write(path) as fh:
        fh.write(config_text(config))
