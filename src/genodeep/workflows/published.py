"""Import jobs: published models (SpliceAI, MMSplice) and Keras/ONNX files into the local zoo.

``genodeep zoo import spliceai`` reads the weight files of the installed ``spliceai`` package (nothing is
downloaded), converts them (:mod:`genodeep.zoo.importers`) and installs a package whose card carries
the licence, the citation and the provenance (package, version, sha256 of every file read).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from genodeep._progress import log
from genodeep._validate import InputFileError
from genodeep.zoo import save_package
from genodeep.zoo.importers.keras import keras_model
from genodeep.zoo.importers.onnx import onnx_model
from genodeep.zoo.importers.published import PUBLISHED, ImportedModel, build_published
from genodeep.zoo.registry import install, zoo_dir

__all__ = ["import_model", "import_published", "import_file"]

_FILE_READERS = {
    ".h5": keras_model,
    ".hdf5": keras_model,
    ".keras": keras_model,
    ".onnx": onnx_model,
}


def _install(item: ImportedModel, root, overwrite: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_package(
            item.model,
            Path(tmp) / item.name,
            data_spec=item.data_spec,
            metadata=item.metadata,
            name=item.name,
        )
        return install(folder, item.name, root=root, overwrite=overwrite)


def import_published(
    name: str,
    *,
    path: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    overwrite: bool = False,
    verbose: bool = False,
) -> list[str]:
    """Convert published model ``name`` from its installed package and add it to the zoo.

    Parameters
    ----------
    name : {"spliceai", "mmsplice"}
        See :data:`genodeep.zoo.importers.published.PUBLISHED`.
    path : path, optional
        Folder holding the weight files (default: the installed package, found by its metadata).
    root : path, optional
        Zoo folder (default: ``$GENODEEP_ZOO`` or the user's zoo).
    overwrite : bool
        Replace zoo models of the same names.

    Returns
    -------
    list of str
        The zoo names installed (``spliceai``; ``mmsplice_acceptor``, ... one per MMSplice module).
    """
    names = []
    for item in build_published(name, path):
        names.append(_install(item, root, overwrite))
        if verbose:
            log(f"imported {item.name} into {zoo_dir(root)} ({item.metadata['license']})")
    return names


def import_file(
    path: str | os.PathLike,
    *,
    name: str,
    task_names: Sequence[str] | None = None,
    root: str | os.PathLike | None = None,
    overwrite: bool = False,
    verbose: bool = False,
) -> str:
    """Convert a Keras ``.h5`` or an ONNX file into a zoo package named ``name``.

    Parameters
    ----------
    path : path
        ``.h5``/``.hdf5`` (Keras 2 ``model.save``) or ``.onnx``.
    name : str
        Zoo name of the new package.
    task_names : list of str, optional
        Names of the output channels (default ``task_0`` ...).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    reader = _FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(
            f"cannot import a {path.suffix or 'suffix-less'} file",
            path=path,
            fix=f"give a Keras or ONNX model file ({', '.join(_FILE_READERS)})",
        )
    model = reader(path)
    spec = {"model_name": "imported", "link": "identity", "kind": "regression"}
    if task_names:
        spec["task_names"] = list(task_names)
    meta = {
        "description": f"Imported by genodeep from {path.name}.",
        "provenance": {"file": str(path.resolve()), "sha256": _sha256(path)},
    }
    item = ImportedModel(name, model, spec, meta)
    out = _install(item, root, overwrite)
    if verbose:
        log(f"imported {path.name} as {out} into {zoo_dir(root)}")
    return out


def import_model(
    source: str,
    *,
    name: str | None = None,
    path: str | os.PathLike | None = None,
    task_names: Sequence[str] | None = None,
    root: str | os.PathLike | None = None,
    overwrite: bool = False,
    verbose: bool = False,
) -> list[str]:
    """``genodeep zoo import SOURCE``: a published model's name, or a model file (needs ``name``)."""
    if source in PUBLISHED:
        return import_published(source, path=path, root=root, overwrite=overwrite, verbose=verbose)
    if not Path(source).exists():
        raise ValueError(
            f"{source!r} is neither a published model ({', '.join(PUBLISHED)}) nor a file; give one "
            "of those names or the path of a .h5/.onnx model"
        )
    if not name:
        raise ValueError(f"importing the file {source} needs --name NAME (its zoo name)")
    return [
        import_file(
            source,
            name=name,
            task_names=task_names,
            root=root,
            overwrite=overwrite,
            verbose=verbose,
        )
    ]


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
