"""The search space of :func:`genodeep.workflows.tune.tune`, the tuned metric and per-epoch pruning.

A ``search:`` section maps dotted config keys to ranges; :func:`parse_search_space` turns it into
:class:`SearchParam` objects and :func:`check_search_space` checks every bound and choice against the
config's own rules. :func:`pruning_callback` reports the tuned metric to an optuna trial after every epoch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from lightning.pytorch.callbacks import Callback

from genodeep.train.lightning import METRIC_MODES
from genodeep.workflows.config import ConfigError, apply_overrides, validate_config

#: keys of one ``search:`` entry: exactly one kind, plus options
_KINDS = ("int", "float", "choice")
_OPTIONS = ("log", "step")
#: config sections whose keys may be searched
_SEARCHABLE = ("data", "model", "training", "baselines")


# ==================================================================================================
# the search space


@dataclass(frozen=True)
class SearchParam:
    """One dimension of the search space.

    Attributes
    ----------
    path : str
        Dotted config key, e.g. ``"training.lr"``.
    kind : {"int", "float", "choice"}
    low, high : int or float, optional
        Inclusive bounds of ``int``/``float`` ranges.
    log : bool
        Sample on a log scale (bounds must be > 0).
    step : int or float, optional
        Grid step of a range.
    choices : tuple, optional
        Values of a ``choice`` (any YAML values, lists included).
    """

    path: str
    kind: Literal["int", "float", "choice"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    @property
    def _encoded(self) -> bool:
        """Choices that optuna cannot store (lists, mappings) are passed to it as JSON strings."""
        return any(not isinstance(c, (str, int, float, bool, type(None))) for c in self.choices)

    def candidates(self) -> list:
        """Values checked against the config before searching: the bounds, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        return [self.low, self.high] if self.low != self.high else [self.low]

    def suggest(self, trial: Any) -> Any:
        """Sample this parameter from an optuna trial."""
        if self.kind == "int":
            return trial.suggest_int(
                self.path, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        if self.kind == "float":
            return trial.suggest_float(
                self.path, float(self.low), float(self.high), step=self.step, log=self.log
            )
        if self._encoded:
            return json.loads(
                trial.suggest_categorical(self.path, [_encode(c) for c in self.choices])
            )
        return trial.suggest_categorical(self.path, list(self.choices))

    def decode(self, value: Any) -> Any:
        """A value as optuna stored it -> the config value."""
        if self.kind == "choice" and self._encoded:
            return json.loads(value)
        if self.kind == "int":
            return int(value)
        return value


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_search_space(
    search: Mapping[str, Any], *, source: str | None = None
) -> list[SearchParam]:
    """Parse a ``search:`` section into :class:`SearchParam` objects (shape checks only).

    Parameters
    ----------
    search : mapping dotted path -> spec
        Spec: ``{int: [low, high]}`` or ``{float: [low, high]}`` with optional ``log: true`` and
        ``step: s``, or ``{choice: [v1, v2, ...]}`` (a bare list is a choice).
    source : str, optional
        File name for error messages.

    Returns
    -------
    list of SearchParam

    Raises
    ------
    ConfigError
        Naming the key ``search.<path>``, the rule and the fix.
    """
    if not isinstance(search, Mapping) or not search:
        raise ConfigError(
            "expected a non-empty mapping of dotted config keys to ranges, e.g. "
            "'training.lr: {float: [1.0e-4, 1.0e-2], log: true}'",
            source=source,
            key="search",
        )
    out = []
    for path, spec in search.items():
        key = f"search.{path}"
        parts = str(path).split(".")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"{path!r} is not a dotted config key; write SECTION.KEY, e.g. training.lr or "
                "model.filters",
                source=source,
                key=key,
            )
        if parts[0] not in _SEARCHABLE:
            raise ConfigError(
                f"section {parts[0]!r} cannot be searched; search keys start with one of: "
                f"{', '.join(_SEARCHABLE)}",
                source=source,
                key=key,
            )
        if isinstance(spec, list):
            spec = {"choice": spec}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"expected {{int: [low, high]}}, {{float: [low, high]}} or {{choice: [...]}}, got "
                f"{spec!r}",
                source=source,
                key=key,
            )
        kinds = [k for k in spec if k in _KINDS]
        unknown = [k for k in spec if k not in _KINDS and k not in _OPTIONS]
        if unknown or len(kinds) != 1:
            raise ConfigError(
                f"give exactly one of {', '.join(_KINDS)} (plus optional {', '.join(_OPTIONS)}); "
                f"got keys {list(spec)}",
                source=source,
                key=key,
            )
        kind = kinds[0]
        log_scale = spec.get("log", False)
        step = spec.get("step")
        if not isinstance(log_scale, bool):
            raise ConfigError(
                f"log must be true or false, got {log_scale!r}", source=source, key=key
            )
        if kind == "choice":
            choices = spec["choice"]
            if not isinstance(choices, list) or not choices:
                raise ConfigError(
                    f"choice must be a non-empty list, got {choices!r}", source=source, key=key
                )
            if log_scale or step is not None:
                raise ConfigError(
                    "log/step apply to int and float ranges only", source=source, key=key
                )
            if len({_encode(c) for c in choices}) != len(choices):
                raise ConfigError(
                    f"choice lists a value twice: {choices!r}", source=source, key=key
                )
            out.append(SearchParam(str(path), "choice", choices=tuple(choices)))
            continue
        bounds = spec[kind]
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_is_number, bounds))):
            raise ConfigError(
                f"{kind} must be a list [low, high] of two numbers, got {bounds!r}",
                source=source,
                key=key,
            )
        low, high = bounds
        if kind == "int" and not all(isinstance(b, int) for b in bounds):
            raise ConfigError(
                f"int bounds must be integers, got {bounds!r}; use float: for real numbers",
                source=source,
                key=key,
            )
        if low > high:
            raise ConfigError(
                f"low > high in {bounds!r}; write [low, high]", source=source, key=key
            )
        if log_scale and low <= 0:
            raise ConfigError(f"log: true needs low > 0, got {bounds!r}", source=source, key=key)
        if step is not None:
            if not _is_number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
                raise ConfigError(
                    f"step must be a positive {'integer' if kind == 'int' else 'number'}, got "
                    f"{step!r}",
                    source=source,
                    key=key,
                )
            if log_scale and not (kind == "int" and step == 1):
                raise ConfigError("log: true cannot be combined with step", source=source, key=key)
        out.append(SearchParam(str(path), kind, low=low, high=high, log=log_scale, step=step))
    return out


def _strip_source(err: ConfigError, source: str | None) -> str:
    text = str(err)
    if source and text.startswith(f"{source}: "):
        text = text[len(source) + 2 :]
    return text


def check_search_space(
    config: Mapping[str, Any],
    space: Sequence[SearchParam],
    *,
    source: str | None = None,
    base: str | os.PathLike | None = None,
) -> None:
    """Check every bound and choice of ``space`` against the config's own rules.

    Each candidate value (both bounds of a range, every choice) is set in the config, with the other
    parameters at their first candidate, and the result goes through
    :func:`genodeep.workflows.config.validate_config`: an unknown path is an error listing the valid keys
    of its section, a value of the wrong type an error naming the expected type.
    """
    first = {p.path: p.candidates()[0] for p in space}
    for p in space:
        for value in p.candidates():
            try:
                validate_config(
                    apply_overrides(config, {**first, p.path: value}), source=source, base=base
                )
            except ConfigError as err:
                raise ConfigError(
                    f"{p.path} = {value!r} does not fit the config: {_strip_source(err, source)}",
                    source=source,
                    key=f"search.{p.path}",
                ) from None
            except ValueError as err:  # e.g. an override path through a non-section value
                raise ConfigError(
                    f"{p.path} is not a config key: {err}", source=source, key=f"search.{p.path}"
                ) from None


# ==================================================================================================
# the metric and the pruning callback


def _metric_name(metric: str | None, training: Mapping[str, Any]) -> str:
    """The logged name of the tuned metric (``valid_`` prefix added), default the monitored one."""
    name = metric if metric is not None else training.get("early_stopping", "valid_loss")
    if name is None:  # early stopping off: fit's best checkpoint follows valid_loss
        name = "valid_loss"
    name = str(name)
    if not name.startswith(("valid_", "train_")):
        name = f"valid_{name}"
    base = name.split("_", 1)[1]
    if base not in METRIC_MODES:
        valid = ", ".join(f"valid_{k}" for k in METRIC_MODES)
        raise ValueError(
            f"metric={metric!r} is not a value training logs; choose one of: {valid} or train_loss"
        )
    return name


class OptunaPruning(Callback):
    """Report the monitored value of every finished epoch to an optuna trial; prune when told.

    Values are read from the training module's ``history`` (one record per epoch, the same numbers
    as ``history.tsv``) at the start of the next epoch — Lightning runs this callback's
    end-of-epoch hooks before the module has recorded the epoch — and at the end of training.
    Epoch ``e`` (0-based) is reported as step ``e + 1`` (epochs done).
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        self.reported: dict[int, float] = {}

    def _report(self, pl_module: Any) -> bool:
        new = False
        for record in getattr(pl_module, "history", None) or ():
            epoch = int(record.get("epoch", -1))
            value = record.get(self.monitor)
            if epoch < 0 or epoch in self.reported or value is None:
                continue
            value = float(value)
            if not math.isfinite(value):
                continue
            self.trial.report(value, step=epoch + 1)
            self.reported[epoch] = value
            new = True
        return new

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        import optuna

        if self._report(pl_module) and self.trial.should_prune():
            epoch = max(self.reported)
            raise optuna.TrialPruned(
                f"pruned after epoch {epoch + 1}: {self.monitor} = {self.reported[epoch]:.4g}"
            )

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._report(pl_module)


def pruning_callback(trial: Any, monitor: str = "valid_loss"):
    """A Lightning callback that reports ``monitor`` per epoch to ``trial`` and raises
    ``optuna.TrialPruned`` when the study's pruner says so (pass it to :func:`genodeep.train.fit`'s
    ``callbacks=``).

    Parameters
    ----------
    trial : optuna.Trial
    monitor : str
        A value the training module logs (``"valid_loss"``, ``"valid_auroc"``, ...).
    """
    return OptunaPruning(trial, monitor)


def _best_of(history: pd.DataFrame, metric: str, direction: str) -> tuple[float, int | None]:
    """Best value of ``metric`` over epochs (NaN when never finite) and its epoch."""
    if history is None or metric not in getattr(history, "columns", ()):
        logged = [c for c in getattr(history, "columns", ()) if c not in ("epoch", "lr")]
        raise ValueError(
            f"training did not log {metric!r} (it logged: {', '.join(map(str, logged)) or 'nothing'}); "
            "pass metric= one of those (CLI: --metric), or add a validation split to the data"
        )
    col = pd.to_numeric(history[metric], errors="coerce")
    if not col.notna().any():
        return math.nan, None
    i = col.idxmax() if direction == "maximize" else col.idxmin()
    epoch = int(history["epoch"].loc[i]) if "epoch" in history else int(i)
    return float(col.loc[i]), epoch
