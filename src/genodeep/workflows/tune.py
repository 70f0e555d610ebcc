"""Hyperparameter search over a training config with optuna: the API behind ``genodeep tune``.

The search space lives in the training YAML itself, in a ``search:`` section whose keys are dotted paths
into the config (the same keys ``genodeep train --set`` takes)::

    search:
      model.filters: {int: [8, 64], log: true}        # integers in [8, 64], sampled on a log scale
      model.width:   {int: [11, 31], step: 4}
      model.dropout: {float: [0.0, 0.5]}
      training.lr:   {float: [1.0e-4, 1.0e-2], log: true}
      model.name:    {choice: [deepbind, basset]}     # or simply: model.name: [deepbind, basset]
      model.dense:   {choice: [[32], [64, 64]]}       # choices may be lists

Every sampled point is checked against the config's own rules before the first trial runs (an unknown
path is an error listing the valid keys). Each trial is one :func:`genodeep.workflows.train.train_from_config`
run in ``OUT/trials/trial_NNNN/`` (baselines skipped); its value is the best epoch's value of the
validation metric that training monitors (``training.early_stopping``, default ``valid_loss``). With a
pruner, the metric is reported to optuna after every epoch and unpromising trials stop early.

Outputs in ``OUT/``: ``study.db`` (the optuna storage, SQLite by default), ``trials.tsv`` (one row per
trial: state, value, parameters, epochs, folder), ``best_config.yaml`` (the config with the best
parameters, ready for ``genodeep train``) and ``optimization_history.png``.

Several machines (or several ``genodeep tune`` processes) can work on one study: give them the same
``storage`` URL and ``study_name``; each runs its own ``n_trials`` and they share what the sampler has
learnt::

    # machine A and machine B, same command (a shared PostgreSQL/MySQL server, or a SQLite file on a
    # shared disk for a few workers)
    genodeep tune tune.yaml --out runs/tune --storage postgresql://user:pw@db/optuna \\
        --study-name spacing --n-trials 20
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch

from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import is_quiet, log, set_quiet
from genodeep._validate import check_choice, check_positive, require
from genodeep.train.lightning import metric_mode
from genodeep.workflows._tune_space import (
    SearchParam,
    _best_of,
    _metric_name,
    check_search_space,
    parse_search_space,
    pruning_callback,
)
from genodeep.workflows.assemble import fit_parameters
from genodeep.workflows.config import (
    ConfigError,
    apply_overrides,
    dump_config,
    read_yaml,
    validate_config,
)
from genodeep.workflows.train import train_from_config

__all__ = [
    "TuneResult",
    "SearchParam",
    "tune",
    "parse_search_space",
    "pruning_callback",
    "SAMPLERS",
    "PRUNERS",
]

SAMPLERS = ("tpe", "random")
PRUNERS = ("hyperband", "median", None)
_TRIALS_DIR = "trials"


# ==================================================================================================
# trials


@dataclass
class _Objective:
    """One trial: sample, train in its own folder, return the best epoch's metric (picklable)."""

    config: dict
    space: list[SearchParam]
    out_dir: str
    metric: str
    direction: str
    prune: bool

    def __call__(self, trial: Any) -> float:
        params = {p.path: p.suggest(trial) for p in self.space}
        trial_dir = Path(self.out_dir) / _TRIALS_DIR / f"trial_{trial.number:04d}"
        trial.set_user_attr("trial_dir", str(trial_dir))
        kwargs: dict[str, Any] = {}
        if self.prune:
            kwargs["callbacks"] = [pruning_callback(trial, self.metric)]
        try:
            result = train_from_config(
                self.config,
                out_dir=trial_dir,
                baselines=False,
                overwrite=True,  # the folder belongs to this trial number of the study
                overrides=params,
                verbose=False,
                **kwargs,
            )
        except Exception as err:
            import optuna

            if not isinstance(err, optuna.TrialPruned):
                trial.set_user_attr("error", f"{type(err).__name__}: {err}")
            raise
        history = result.history
        trial.set_user_attr("epochs", int(len(history)))
        value, epoch = _best_of(history, self.metric, self.direction)
        trial.set_user_attr("best_epoch", epoch)
        return value


def _make_sampler(sampler: str, seed: int | None):
    import optuna

    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _make_pruner(pruner: str | None, max_epochs: int):
    import optuna

    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(1, int(max_epochs)), reduction_factor=3
        )
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def _storage(url: str):
    import optuna

    if url.startswith("sqlite:"):
        # wait for the lock instead of failing when several workers write at once
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
    return url


def _log_trial(study: Any, trial: Any) -> None:
    state = trial.state.name.lower()
    value = "" if trial.value is None else f" {trial.value:.4g}"
    params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    log(f"trial {trial.number}: {state}{value} ({params})")


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _run_worker(job: dict) -> None:
    """Run ``job["n_trials"]`` trials of a stored study (one process of ``n_jobs``)."""
    import optuna

    set_quiet(job["quiet"])
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=job["study_name"],
        storage=_storage(job["storage"]),
        sampler=_make_sampler(job["sampler"], job["seed"]),
        pruner=_make_pruner(job["pruner"], job["max_epochs"]),
    )
    study.optimize(
        job["objective"],
        n_trials=job["n_trials"],
        timeout=job["timeout"],
        catch=(ValueError, RuntimeError),
        callbacks=[_log_trial] if job["verbose"] else None,
    )


# ==================================================================================================
# outputs


def trials_table(study: Any, space: Sequence[SearchParam] = ()) -> pd.DataFrame:
    """One row per trial: ``number, state, value, <parameter paths>, epochs, best_epoch,
    duration_s, trial_dir, error``."""
    decode = {p.path: p for p in space}
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, "value": t.value}
        for k, v in t.params.items():
            v = decode[k].decode(v) if k in decode else v
            row[k] = json.dumps(v) if isinstance(v, (list, dict)) else v
        row["epochs"] = t.user_attrs.get("epochs", len(t.intermediate_values) or None)
        row["best_epoch"] = t.user_attrs.get("best_epoch")
        dur = t.duration
        row["duration_s"] = round(dur.total_seconds(), 3) if dur is not None else None
        row["trial_dir"] = t.user_attrs.get("trial_dir")
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values("number").reset_index(drop=True)
    return df


def plot_optimization_history(
    study: Any, path: str | os.PathLike, *, metric: str = "value"
) -> Path:
    """Objective value of every finished trial, the best so far, and pruned trials' last values."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    trials = study.get_trials(deepcopy=False)
    maximize = study.direction.name == "MAXIMIZE"
    fig = Figure(figsize=(6.0, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    done = [
        (t.number, t.value) for t in trials if t.state.name == "COMPLETE" and t.value is not None
    ]
    done = [(n, v) for n, v in done if math.isfinite(v)]
    pruned = [
        (t.number, t.intermediate_values[max(t.intermediate_values)])
        for t in trials
        if t.state.name == "PRUNED" and t.intermediate_values
    ]
    if done:
        xs, ys = zip(*done)
        ax.scatter(xs, ys, s=24, color="#1f77b4", label="completed trial", zorder=3)
        best, run = [], None
        for y in ys:
            run = y if run is None else (max(run, y) if maximize else min(run, y))
            best.append(run)
        ax.step(xs, best, where="post", color="#d62728", label="best so far")
    if pruned:
        xs, ys = zip(*pruned)
        ax.scatter(xs, ys, s=24, marker="x", color="0.5", label="pruned (last epoch)", zorder=2)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"optimisation history ({'maximize' if maximize else 'minimize'} {metric})")
    if done or pruned:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


# ==================================================================================================
# tune


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    best_params : dict
        Dotted config key -> value of the best trial.
    best_value : float
        Its metric value (best epoch).
    trials : pandas.DataFrame
        ``trials.tsv``: one row per trial of the study.
    best_config : Path
        ``best_config.yaml``: the config with ``best_params`` applied, ready for ``genodeep train``.
    metric : str
        The tuned value (e.g. ``"valid_loss"``).
    direction : {"minimize", "maximize"}
    out_dir : Path
    best_run : Path
        The best trial's run folder (its ``model/`` package, metrics and plots).
    study : optuna.Study
    """

    best_params: dict[str, Any]
    best_value: float
    trials: pd.DataFrame
    best_config: Path
    metric: str
    direction: str
    out_dir: Path
    best_run: Path | None = None
    study: Any = field(default=None, repr=False)


def _read_config(config: str | os.PathLike | Mapping[str, Any]) -> tuple[dict, str | None, Path]:
    """(parsed mapping, source name, base folder of relative paths)."""
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.exists():
            raise FileNotFoundError(f"config file not found: {path}")
        parsed = read_yaml(path)
        if not isinstance(parsed, Mapping):
            raise ConfigError("expected a mapping of sections", source=str(path))
        return dict(parsed), str(path), path.resolve().parent
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a path or a mapping, got {type(config).__name__}")
    return dict(config), None, Path.cwd()


def tune(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    out_dir: str | os.PathLike,
    n_trials: int | None = None,
    timeout: float | None = None,
    sampler: Literal["tpe", "random"] = "tpe",
    pruner: Literal["hyperband", "median"] | None = "hyperband",
    metric: str | None = None,
    direction: Literal["minimize", "maximize"] | None = None,
    n_jobs: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    random_state: int | None = 0,
    verbose: bool = True,
) -> TuneResult:
    """Search the hyperparameters declared in a config's ``search:`` section with optuna.

    Parameters
    ----------
    config : path to a YAML file, or a mapping
        A training config (see :mod:`genodeep.workflows.config`) with a ``search:`` section mapping dotted
        keys to ranges (``{int: [lo, hi]}``, ``{float: [lo, hi], log: true}``, ``{choice: [...]}``;
        see :func:`parse_search_space`).
    out_dir : path
        Folder for the study: ``trials/trial_NNNN/`` run folders, ``trials.tsv``,
        ``best_config.yaml``, ``optimization_history.png`` and (by default) ``study.db``.
    n_trials : int, optional
        Trials to run in this call (split over the ``n_jobs`` workers). With neither ``n_trials``
        nor ``timeout``, 20 trials.
    timeout : float, optional
        Stop starting new trials after this many seconds (each worker).
    sampler : {"tpe", "random"}
        Bayesian TPE (default) or random search.
    pruner : {"hyperband", "median", None}
        Stop unpromising trials early on the per-epoch metric (Hyperband over epochs, or the median
        rule); ``None`` runs every trial to its end.
    metric : str, optional
        Validation value to optimise: ``"valid_loss"``, ``"valid_auroc"``, ``"auprc"``,
        ``"pearson"``... (``valid_`` prefix optional). Default: the value training monitors
        (``training.early_stopping``, default ``valid_loss``). A trial's value is its best epoch's.
        Keep it equal to ``training.early_stopping`` so that the saved model is the best epoch's.
    direction : {"minimize", "maximize"}, optional
        Default from the metric (losses and MSE down, auROC/auPRC/accuracy/correlations up).
    n_jobs : int
        Trials run in parallel, each in its own process (CPU threads are shared out among them).
    storage : str, optional
        Optuna storage URL; default ``sqlite:///OUT/study.db``. Give several machines the same URL
        (e.g. ``postgresql://user:pw@host/db``) and ``study_name`` to let them join one study.
    study_name : str, optional
        Default: the config file's name (``"genodeep-tune"`` for a mapping).
    random_state : int, optional
        Seed of the sampler (worker ``i`` of ``n_jobs`` uses ``random_state + i``); with one worker
        a search is reproducible. Training itself is seeded by ``training.random_state``.
    verbose : bool
        One status line per trial.

    Returns
    -------
    TuneResult
        ``best_params``, ``best_value``, ``trials`` (DataFrame), ``best_config`` (path),
        ``best_run`` (the best trial's run folder) and the optuna ``study``.

    Raises
    ------
    ConfigError
        Missing or malformed ``search:`` section; a search path that is not a config key (the
        message lists the valid keys) or a value that does not fit it.
    ValueError
        Bad arguments, or no trial finished (the message gives the first trial's error).
    """
    optuna = require("optuna", "tune")
    check_choice("sampler", sampler, SAMPLERS)
    if pruner == "none":
        pruner = None
    check_choice("pruner", pruner, PRUNERS)
    check_positive("n_jobs", n_jobs)
    if n_trials is not None:
        check_positive("n_trials", n_trials)
    if timeout is not None:
        check_positive("timeout", timeout)
    if direction is not None:
        check_choice("direction", direction, ("minimize", "maximize"))
    if n_trials is None and timeout is None:
        n_trials = 20

    raw, source, base = _read_config(config)
    if "search" not in raw:
        raise ConfigError(
            "no search: section; add one mapping dotted keys to ranges, e.g.\n"
            "search:\n  training.lr: {float: [1.0e-4, 1.0e-2], log: true}\n"
            "  model.filters: {int: [8, 64]}",
            source=source,
        )
    search = raw.pop("search")
    space = parse_search_space(search, source=source)
    resolved = validate_config(raw, source=source, base=base)
    check_search_space(resolved, space, source=source, base=base)
    # trials must not write into one shared folder
    resolved["output"] = {k: v for k, v in resolved["output"].items() if k != "dir"}

    metric_name = _metric_name(metric, resolved["training"])
    if direction is None:
        direction = "maximize" if metric_mode(metric_name) == "max" else "minimize"
    max_epochs = resolved["training"].get("max_epochs", fit_parameters()[0]["max_epochs"].default)
    for p in space:
        if p.path == "training.max_epochs" and p.high is not None:
            max_epochs = int(p.high)

    prune = pruner is not None

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage_url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    if study_name is None:
        study_name = Path(source).stem if source else "genodeep-tune"
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=_storage(storage_url),
            sampler=_make_sampler(sampler, random_state),
            pruner=_make_pruner(pruner if prune else None, max_epochs),
            study_name=study_name,
            direction=direction,
            load_if_exists=True,
        )
        if study.direction.name.lower() != direction:
            raise ValueError(
                f"study {study_name!r} in {storage_url} was created to {study.direction.name.lower()}, "
                f"not {direction}; use another study_name (--study-name) or out_dir"
            )
        objective = _Objective(
            config=resolved,
            space=space,
            out_dir=str(out.resolve()),
            metric=metric_name,
            direction=direction,
            prune=prune,
        )
        verbose = bool(verbose) and not is_quiet()
        if verbose:
            budget = f"{n_trials} trial(s)" if n_trials else ""
            if timeout:
                budget += (" or " if budget else "") + f"{timeout:g} s"
            log(
                f"tuning {len(space)} parameter(s) of {source or 'the config'}: {budget}, "
                f"{sampler} sampler, pruner {pruner if prune else 'none'}, {direction} "
                f"{metric_name}, {n_jobs} worker(s); study {study_name!r} in {storage_url}"
            )
        started = time.monotonic()
        if n_jobs == 1:
            study.optimize(
                objective,
                n_trials=n_trials,
                timeout=timeout,
                catch=(ValueError, RuntimeError),
                callbacks=[_log_trial] if verbose else None,
            )
        else:
            _run_parallel(
                objective,
                n_jobs=n_jobs,
                n_trials=n_trials,
                timeout=timeout,
                storage=storage_url,
                study_name=study_name,
                sampler=sampler,
                pruner=pruner if prune else None,
                max_epochs=max_epochs,
                random_state=random_state,
                verbose=verbose,
            )
            study = optuna.load_study(study_name=study_name, storage=_storage(storage_url))
    finally:
        optuna.logging.set_verbosity(level)

    return _finish(study, space, resolved, out, metric_name, direction, verbose, started)


def _run_parallel(
    objective: _Objective,
    *,
    n_jobs: int,
    n_trials: int | None,
    timeout: float | None,
    storage: str,
    study_name: str,
    sampler: str,
    pruner: str | None,
    max_epochs: int,
    random_state: int | None,
    verbose: bool,
) -> None:
    """Run the trials in ``n_jobs`` spawned processes sharing the study through ``storage``."""
    if n_trials is not None:
        shares = [n_trials // n_jobs + (1 if i < n_trials % n_jobs else 0) for i in range(n_jobs)]
    else:
        shares = [None] * n_jobs
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    jobs = [
        {
            "objective": objective,
            "n_trials": share,
            "timeout": timeout,
            "storage": storage,
            "study_name": study_name,
            "sampler": sampler,
            "pruner": pruner,
            "max_epochs": max_epochs,
            "seed": None if random_state is None else int(random_state) + i,
            "threads": threads,
            "quiet": is_quiet(),
            "verbose": verbose,
        }
        for i, share in enumerate(shares)
        if share is None or share > 0
    ]
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_run_worker, job) for job in jobs]
        for f in futures:
            f.result()


def _finish(study, space, resolved, out: Path, metric: str, direction: str, verbose: bool, started):
    table = trials_table(study, space)
    with atomic_write(out / "trials.tsv") as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    try:
        best = study.best_trial
    except ValueError:
        best = None
    if best is None or best.value is None or not math.isfinite(best.value):
        errors = [e for e in table.get("error", []) if e]
        detail = f"; first error: {errors[0]}" if errors else ""
        raise ValueError(
            f"no trial finished with a finite {metric} (see {out / 'trials.tsv'}){detail}"
        )
    decode = {p.path: p for p in space}
    best_params = {k: decode[k].decode(v) if k in decode else v for k, v in best.params.items()}
    best_cfg = apply_overrides(resolved, best_params)
    best_cfg["output"] = {k: v for k, v in best_cfg.get("output", {}).items() if k != "dir"}
    best_cfg = {k: v for k, v in best_cfg.items() if not (k == "baselines" and v is None)}
    desc = best_cfg.get("description", "")
    note = f"tuned by genodeep tune: best {metric} {best.value:.4g} (trial {best.number})"
    best_cfg = {"description": f"{desc} [{note}]" if desc else note, **best_cfg}
    best_path = out / "best_config.yaml"
    dump_config(best_cfg, best_path)
    try:
        plot_optimization_history(study, out / "optimization_history.png", metric=metric)
    except Exception as err:  # noqa: BLE001 - a plot must not lose a finished search
        warnings.warn(f"could not write the optimisation history plot: {err}", stacklevel=2)
    best_run = best.user_attrs.get("trial_dir")
    if verbose:
        n = len(table)
        counts = table["state"].value_counts().to_dict() if n else {}
        states = ", ".join(f"{v} {k.lower()}" for k, v in counts.items())
        log(
            f"{n} trial(s) ({states}) in {time.monotonic() - started:.0f} s; best {metric} "
            f"{best.value:.4g} (trial {best.number}): "
            + ", ".join(f"{k}={_short(v)}" for k, v in best_params.items())
        )
        log(f"wrote {out / 'trials.tsv'}, {best_path}; train it with: genodeep train {best_path}")
    return TuneResult(
        best_params=best_params,
        best_value=float(best.value),
        trials=table,
        best_config=best_path,
        metric=metric,
        direction=direction,
        out_dir=out,
        best_run=Path(best_run) if best_run else None,
        study=study,
    )
