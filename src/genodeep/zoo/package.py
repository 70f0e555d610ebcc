"""Model packages: one folder (or one ``.tar.gz`` archive) that rebuilds a runnable model without pickle.

A package holds::

    config.json        model class (a genodeep class path) and its constructor arguments
    weights.safetensors
    data_spec.json     what the model reads: sequence length, alphabet, task names, genome build, ...
    metadata.json      training settings, metrics, genodeep version, creation time
    README.md          model card
    checksums.sha256   sha256 of every file above (verified on load)

Format versions are recorded (``format_version``) so packages written by older genodeep versions keep
loading; see ``_upgrade``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genodeep._io_utils import atomic_path, share_like_umask
from genodeep._validate import InputFileError
from genodeep._version import __version__
from genodeep.models.spec import ModelSpec

#: 2: data_spec.json holds a ModelSpec (``input_length`` was ``sequence_length`` in format 1)
FORMAT_VERSION = 2
_FILES = ("config.json", "weights.safetensors", "data_spec.json", "metadata.json", "README.md")
_CHECKSUMS = "checksums.sha256"


@dataclass
class Package:
    """A loaded model package.

    Attributes
    ----------
    model : torch.nn.Module
        The rebuilt model in eval mode, on the CPU.
    data_spec : dict
        ``spec`` as saved in ``data_spec.json`` (``input_length``, ``alphabet``, ``task_names``, ``kind``,
        ``link``, ``genome``, ...).
    metadata : dict
        Training settings, metrics and provenance.
    path : Path
        Where it was loaded from.
    """

    model: torch.nn.Module
    data_spec: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def spec(self) -> ModelSpec:
        """What the model reads and predicts (:class:`~genodeep.models.spec.ModelSpec`)."""
        return ModelSpec.from_dict(self.data_spec, self.model)

    @property
    def task_names(self) -> list[str]:
        return list(self.spec.task_names)


def _class_path(model: torch.nn.Module) -> str:
    cls = type(model)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if not path.startswith("genodeep."):
        raise TypeError(
            f"only genodeep models can be packaged (got {path}); wrap your layers in a genodeep model class"
        )
    return path


def _model_config(model: torch.nn.Module) -> dict[str, Any]:
    cfg = getattr(model, "config", None)
    if not isinstance(cfg, dict):
        raise TypeError(
            f"{type(model).__name__} has no `config` dict of constructor arguments; "
            "genodeep models record them on construction"
        )
    json.dumps(cfg)  # must be JSON-serialisable
    return dict(cfg)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _model_card(name: str, class_path: str, config: dict, data_spec: dict, metadata: dict) -> str:
    lines = [f"# {name}", "", metadata.get("description", "A genodeep model package."), ""]
    lines += ["## Model", f"- class: `{class_path}`"]
    lines += [f"- {k}: `{v}`" for k, v in config.items()]
    lines += ["", "## Input", *[f"- {k}: `{v}`" for k, v in data_spec.items()]]
    metrics = metadata.get("metrics")
    if metrics:
        lines += ["", "## Metrics (held-out test split)"]
        lines += [f"- {k}: {v}" for k, v in metrics.items()]
    lines += [
        "",
        "## Use",
        "```bash",
        "genodeep predict --model THIS_FOLDER --fasta seqs.fa --out preds.tsv",
        "```",
    ]
    return "\n".join(lines) + "\n"


def save_package(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    data_spec: ModelSpec | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` as a package folder (or a ``.tar.gz`` archive when ``path`` ends so).

    Parameters
    ----------
    model : torch.nn.Module
        A genodeep model with a ``config`` dict of its constructor arguments.
    path : path
        Output folder, or archive path ending in ``.tar.gz``. Written atomically.
    data_spec : ModelSpec or dict, optional
        What the model reads and predicts: a :class:`~genodeep.models.spec.ModelSpec`, or a mapping of
        its fields (``input_length``, ``task_names``, ``kind``, ``link``, ``genome`` ...; other keys are
        kept as they are). Fields the mapping leaves out come from the model (``input_length``,
        ``n_tasks``) or the defaults (alphabet ``ACGT``, link from the kind and loss).
    metadata : dict, optional
        Free-form JSON-serialisable training settings, metrics, description.
    name : str, optional
        Package name for the model card (default: folder name).
    overwrite : bool
        Replace an existing folder.

    Returns
    -------
    Path of the package.
    """
    from safetensors.torch import save_file

    path = Path(path)
    archive = path.name.endswith(".tar.gz")
    name = name or path.name.removesuffix(".tar.gz")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    class_path = _class_path(model)
    config = {"class": class_path, "kwargs": _model_config(model)}
    spec = data_spec if isinstance(data_spec, ModelSpec) else ModelSpec.from_dict(data_spec, model)
    data_spec = spec.to_dict()
    meta = dict(metadata or {})
    meta.update(
        format_version=FORMAT_VERSION,
        genodeep_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        name=name,
    )
    json.dumps(data_spec)
    json.dumps(meta)

    tmp = Path(tempfile.mkdtemp(prefix=".pkg-", dir=path.parent if path.parent.exists() else None))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, tmp / "weights.safetensors")
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        (tmp / "data_spec.json").write_text(json.dumps(data_spec, indent=2))
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        (tmp / "README.md").write_text(
            _model_card(name, class_path, config["kwargs"], data_spec, meta)
        )
        sums = "".join(f"{_sha256(tmp / f)}  {f}\n" for f in _FILES)
        (tmp / _CHECKSUMS).write_text(sums)
        if archive:
            with atomic_path(path) as out:
                with tarfile.open(out, "w:gz") as tar:
                    for f in (*_FILES, _CHECKSUMS):
                        tar.add(tmp / f, arcname=f"{name}/{f}")
            shutil.rmtree(tmp)
        else:
            share_like_umask(tmp)
            if path.exists():
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def package_dir(path: str | os.PathLike) -> Path:
    """The package folder at ``path``: ``path`` itself, or the ``model/`` package of a run folder.

    Raises :class:`InputFileError` naming both places looked at when neither holds a package.
    """
    path = Path(path)
    if (path / _CHECKSUMS).exists():
        return path
    if (path / "model" / _CHECKSUMS).exists():
        return path / "model"
    raise InputFileError(
        f"not a genodeep model package: found no {_CHECKSUMS} in this folder nor in its model/ "
        "subfolder (where `genodeep train` saves the model of a run)",
        path=path,
        fix="point to a package folder or archive (save_package, genodeep zoo publish) or to a "
        "run folder written by `genodeep train`",
    )


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Safely extract a package archive into ``dest``; return its one package folder.

    Members that would land outside ``dest`` (absolute paths, ``..``, links out) are refused.
    """
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise InputFileError(
            f"cannot read package archive ({err})", path=archive, fix="re-download the package"
        ) from err
    roots = [p for p in Path(dest).iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise InputFileError("archive should hold exactly one package folder", path=archive)
    return roots[0]


def verify_package(path: str | os.PathLike) -> dict[str, str]:
    """Check every file of a package folder (or a run folder's ``model/``) against ``checksums.sha256``.

    Returns the checksums; raises :class:`InputFileError` naming the file that is missing or altered.
    """
    path = package_dir(path)
    sums_path = path / _CHECKSUMS
    sums = {}
    for i, line in enumerate(sums_path.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) != 2:
            raise InputFileError("malformed checksum line", path=sums_path, line=i)
        sums[parts[1]] = parts[0]
    for f in _FILES:
        if f not in sums:
            raise InputFileError(
                f"checksums do not list {f}", path=sums_path, fix="re-save the package"
            )
        fp = path / f
        if not fp.exists():
            raise InputFileError(
                f"package file {f} is missing", path=path, fix="re-download or re-save the package"
            )
        if _sha256(fp) != sums[f]:
            raise InputFileError(
                f"{f} does not match its sha256 (tampered or truncated)",
                path=path,
                fix="re-download or re-save the package; never load a package whose checksum fails",
            )
    return sums


def _upgrade(config: dict, meta: dict) -> tuple[dict, dict]:
    """Bring older package formats to the current one. Format 1 differs only in its data spec's key
    names, which :meth:`ModelSpec.from_dict` reads (``sequence_length`` -> ``input_length``)."""
    version = meta.get("format_version", 1)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"package format {version} is newer than this genodeep supports ({FORMAT_VERSION}); upgrade genodeep"
        )
    return config, meta


def _resolve_class(class_path: str):
    if not class_path.startswith("genodeep."):
        raise ValueError(
            f"refusing to import {class_path!r}: packages may only name genodeep classes"
        )
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"model class {class_path} not found in this genodeep version") from err
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ValueError(f"{class_path} is not a torch.nn.Module")
    return cls


def load_package(path: str | os.PathLike, *, verify: bool = True) -> Package:
    """Load a model package (folder, ``.tar.gz`` or run folder) and rebuild its model. No pickle.

    Parameters
    ----------
    path : path
        Package folder, package archive, or a ``genodeep train`` run folder (its ``model/`` package).
    verify : bool
        Check sha256 checksums first (default). A tampered or truncated package is refused.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model package not found: {path}")
    if path.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            pkg = load_package(extract_archive(path, tmp), verify=verify)
            pkg.path = path
            return pkg
    path = package_dir(path)
    if verify:
        verify_package(path)
    try:
        config = json.loads((path / "config.json").read_text())
        data_spec = json.loads((path / "data_spec.json").read_text())
        meta = json.loads((path / "metadata.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError) as err:
        raise InputFileError(f"unreadable package metadata ({err})", path=path) from err
    config, meta = _upgrade(config, meta)
    cls = _resolve_class(config["class"])
    model = cls(**config.get("kwargs", {}))
    try:
        state = load_file(path / "weights.safetensors")
        model.load_state_dict(state)
    except Exception as err:  # safetensors raises its own error types
        raise InputFileError(
            f"weights do not fit {config['class']} ({err})", path=path / "weights.safetensors"
        ) from err
    model.eval()
    spec = ModelSpec.from_dict(data_spec, model).to_dict()
    return Package(model=model, data_spec=spec, metadata=meta, path=path)
