"""The one way to get a model from what a user names: a package folder, a package archive, a run folder
of ``genodeep train``, or the name of a model in the local zoo."""

from __future__ import annotations

import os
from pathlib import Path

from genodeep.zoo.package import Package, load_package
from genodeep.zoo.registry import _read_index, _unknown, get, zoo_dir

__all__ = ["load"]


def load(
    model: str | os.PathLike, *, verify: bool = True, root: str | os.PathLike | None = None
) -> Package:
    """Load a model package and rebuild its model (no pickle).

    Parameters
    ----------
    model : path or str
        A package folder, a package archive (``.tar.gz``), a ``genodeep train`` run folder (its
        ``model/`` package), or the name of a model in the local zoo (:func:`genodeep.zoo.add`).
    verify : bool
        Check the sha256 checksums first (default); a zoo model is also checked against the checksums
        recorded when it was added. A tampered or truncated package is refused.
    root : path, optional
        The zoo folder for names (default ``$GENODEEP_ZOO`` or ``~/.genodeep/zoo``). When given, a
        plain name is looked up in the zoo even if a file of that name exists here.

    Returns
    -------
    Package
        ``.model`` (eval mode, CPU), ``.spec`` (what it reads and predicts), ``.data_spec``, ``.metadata``.
    """
    path = Path(model)
    plain_name = isinstance(model, str) and os.sep not in model and "/" not in model
    if not plain_name or (path.exists() and root is None):
        return load_package(path, verify=verify)
    index = _read_index(zoo_dir(root))
    if model not in index:
        raise FileNotFoundError(
            f"model {model!r} is neither a path nor a zoo model; {_unknown(model, index)}"
        )
    return get(model, root=root) if verify else load_package(zoo_dir(root) / model, verify=False)
