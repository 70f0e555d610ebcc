"""A local model zoo: a folder of model packages with an index, verified before every load.

The zoo lives in ``$GENODEEP_ZOO`` when set, else ``$XDG_DATA_HOME/genodeep/zoo`` (default
``~/.local/share/genodeep/zoo``). Each entry is a package folder named after the model; ``index.json``
records each entry's checksums so that a package altered after it was added is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from genodeep._io_utils import atomic_write, share_like_umask
from genodeep._validate import InputFileError
from genodeep.models.spec import ModelSpec
from genodeep.zoo.package import Package, extract_archive, load_package, package_dir, verify_package

_INDEX = "index.json"


def zoo_dir(root: str | os.PathLike | None = None) -> Path:
    """The zoo folder: ``root``, else ``$GENODEEP_ZOO``, else ``$XDG_DATA_HOME/genodeep/zoo``."""
    if root is not None:
        return Path(root)
    if os.environ.get("GENODEEP_ZOO"):
        return Path(os.environ["GENODEEP_ZOO"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "genodeep" / "zoo"


def _read_index(root: Path) -> dict[str, dict]:
    p = root / _INDEX
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise InputFileError(
            f"zoo index is not valid JSON ({err})", path=p, fix="remove it and re-add models"
        ) from err


def _write_index(root: Path, index: dict[str, dict]) -> None:
    with atomic_write(root / _INDEX) as fh:
        json.dump(index, fh, indent=2, sort_keys=True)


_RESERVED = ("index.json", "config.json")


def _check_name(name: str) -> None:
    if (
        not name
        or any(c in name for c in "/\\")
        or name.startswith(".")
        or name in _RESERVED
        or name.endswith(".tar.gz")
    ):
        raise ValueError(
            f"model name {name!r} is not valid: use letters, digits, '-', '_' and '.' "
            "(not starting with '.', not ending in .tar.gz)"
        )


def add(
    path: str | os.PathLike, *, name: str | None = None, root=None, overwrite: bool = False
) -> str:
    """Verify a package and copy it into the zoo; return its zoo name.

    Parameters
    ----------
    path : path
        Package folder, package archive (``.tar.gz``) or a ``genodeep train`` run folder (its
        ``model/`` package is added, named after the run folder).
    name : str, optional
        Zoo name (default: the folder or archive name).
    root : path, optional
        Zoo folder (default: :func:`zoo_dir`).
    overwrite : bool
        Replace a model of the same name.
    """
    src = Path(path)
    if not src.exists():
        raise FileNotFoundError(f"model package not found: {src}")
    with tempfile.TemporaryDirectory() as tmp:
        if src.is_file():
            name = name or src.name.removesuffix(".tar.gz")
            folder = extract_archive(src, tmp)
        else:
            folder = package_dir(src)
            if name is None:  # a run folder, or a run's model/ folder, is named after the run
                named = folder.resolve().parent if folder.name == "model" else folder.resolve()
                name = named.name
        return install(folder, name, root=root, overwrite=overwrite)


def install(
    folder: str | os.PathLike,
    name: str,
    *,
    root=None,
    overwrite: bool = False,
    extra: dict | None = None,
) -> str:
    """Verify a package folder, rebuild its model once, and move a copy into the zoo atomically.

    ``extra`` is recorded in the zoo index beside the checksums (e.g. the mirror a model came from).
    Nothing is left in the zoo when any check fails.
    """
    _check_name(name)
    root = zoo_dir(root)
    folder = Path(folder)
    load_package(folder)  # per-file checksums, then the model must rebuild in this genodeep version
    index = _read_index(root)
    dest = root / name
    if (name in index or dest.exists()) and not overwrite:
        raise FileExistsError(
            f"zoo already has a model named {name!r}; pass overwrite=True (--overwrite)"
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".add-", dir=root))
    try:
        shutil.copytree(folder, staging / "pkg")
        share_like_umask(staging / "pkg")
        sums = verify_package(staging / "pkg")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging / "pkg", dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    meta = json.loads((dest / "metadata.json").read_text())
    index[name] = {
        "checksums": sums,
        "created": meta.get("created"),
        "description": meta.get("description", ""),
        **(extra or {}),
    }
    _write_index(root, index)
    return name


def remove(name: str, *, root=None) -> None:
    """Delete a model from the zoo."""
    root = zoo_dir(root)
    index = _read_index(root)
    if name not in index:
        raise KeyError(_unknown(name, index))
    shutil.rmtree(root / name, ignore_errors=True)
    del index[name]
    _write_index(root, index)


def _unknown(name: str, index: dict) -> str:
    names = ", ".join(sorted(index)) or "(the zoo is empty)"
    return f"no model named {name!r} in the zoo; available: {names}"


def verify(name: str, *, root=None) -> None:
    """Check a zoo entry's files against both its own checksums and those recorded when it was added."""
    root = zoo_dir(root)
    index = _read_index(root)
    if name not in index:
        raise KeyError(_unknown(name, index))
    sums = verify_package(root / name)
    if sums != index[name]["checksums"]:
        raise InputFileError(
            "package checksums differ from those recorded when it was added (altered in place)",
            path=root / name,
            fix=f"remove it (genodeep zoo remove {name}) and add it again from a trusted copy",
        )


def get(name: str, *, root=None) -> Package:
    """Verify and load a zoo model."""
    verify(name, root=root)
    return load_package(zoo_dir(root) / name)


def list_models(*, root=None) -> pd.DataFrame:
    """A table of the zoo's models: name, kind, tasks, input length, created, description."""
    root = zoo_dir(root)
    rows = []
    for name, entry in sorted(_read_index(root).items()):
        spec_path = root / name / "data_spec.json"
        spec = ModelSpec.from_dict(json.loads(spec_path.read_text()) if spec_path.exists() else {})
        rows.append(
            {
                "name": name,
                "kind": spec.kind,
                "tasks": len(spec.task_names),
                "input_length": spec.input_length or "",
                "created": entry.get("created", ""),
                "description": entry.get("description", ""),
            }
        )
    return pd.DataFrame(
        rows, columns=["name", "kind", "tasks", "input_length", "created", "description"]
    )


def info(name: str, *, root=None) -> str:
    """The model card of a zoo model (README.md: model, data spec, metrics) with its sha256 checksums."""
    root = zoo_dir(root)
    index = _read_index(root)
    if name not in index:
        raise KeyError(_unknown(name, index))
    entry = index[name]
    lines = [(root / name / "README.md").read_text().rstrip(), "", "## Checksums (sha256)"]
    lines += [f"- {f}: `{h}`" for f, h in sorted(entry.get("checksums", {}).items())]
    if entry.get("mirror"):
        lines += ["", "## Source", f"- mirror: {entry['mirror']}"]
        if entry.get("sha256"):
            lines.append(f"- archive sha256: `{entry['sha256']}`")
    return "\n".join(lines) + "\n"
