"""A run folder's life: refuse to overwrite a finished or interrupted run by accident, and resume only with
the settings the run started with (anything else would train one thing and record another)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from genodeep.workflows.config import config_text, read_yaml

#: what marks a folder as holding a run of ``genodeep train``
RUN_MARKERS = ("config.yaml", "checkpoints", "model", "metrics.tsv")

#: settings a resumed run may change: how long it trains, the hardware it runs on, what it writes
RESUMABLE_CHANGES = (
    "training.max_epochs",
    "training.devices",
    "training.num_nodes",
    "training.strategy",
    "training.accelerator",
    "baselines",
    "output",
    "description",
)


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` has anything a ``genodeep train`` run writes."""
    return any((folder / name).exists() for name in RUN_MARKERS)


def check_fresh_run(folder: Path, *, overwrite: bool) -> None:
    """Refuse to start a new run in a folder that holds one, unless ``overwrite``."""
    if overwrite or not holds_run(folder):
        return
    raise FileExistsError(
        f"{folder} already holds a run (found {', '.join(n for n in RUN_MARKERS if (folder / n).exists())}). "
        "Fix: --resume to continue it, --overwrite to replace it, or --out NEW_FOLDER for a new run"
    )


def _flat(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, Mapping) and config:
        out: dict[str, Any] = {}
        for key, value in config.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: config}


def _allowed(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in RESUMABLE_CHANGES)


def check_resume_settings(folder: Path, resolved: Mapping[str, Any]) -> None:
    """Refuse to resume the run in ``folder`` with settings other than those it started with.

    Parameters
    ----------
    folder : Path
        The run folder (its ``config.yaml`` is the resolved config of the first start).
    resolved : mapping
        The resolved config of this start.

    Raises
    ------
    ValueError
        Listing each changed key with both values, unless only :data:`RESUMABLE_CHANGES` differ.
    """
    saved = folder / "config.yaml"
    if not saved.exists():
        return
    before = _flat(read_yaml(saved))
    now = _flat(yaml.safe_load(config_text(resolved)))
    changed = [
        f"{key}: {before.get(key, '(unset)')!r} in the run, {now.get(key, '(unset)')!r} now"
        for key in sorted(set(before) | set(now))
        if not _allowed(key) and before.get(key) != now.get(key)
    ]
    if changed:
        raise ValueError(
            f"--resume continues the run in {folder} with the settings it started with, but these "
            f"differ: {'; '.join(changed)}. Fix: resume without the changes, or start a new run with "
            "--out NEW_FOLDER (or --overwrite to replace this one). Only "
            f"{', '.join(RESUMABLE_CHANGES)} may change on resume"
        )
