"""Published models whose weights ship inside registry packages: where the files are, what they are.

Nothing is downloaded and no weights are kept in genodeep: the files are read from the user's installed
package (``pip install spliceai==1.3.1 --no-deps`` is enough: the importer needs the ``.h5`` files, not
TensorFlow) or from a folder given with ``path``. Each model records its licence, citation and the
provenance of the files read (package name, version, sha256 of each file).

- ``spliceai``: SpliceAI-10k (Jaganathan et al., Cell 2019), the five models of ``spliceai`` 1.3.1
  (GPLv3) in one graph whose output is their average, as the ``spliceai`` tool uses them.
- ``mmsplice``: the five modules of MMSplice (Cheng et al., Genome Biology 2019) from ``mmsplice``
  2.4.0 (MIT): ``acceptor_intron``, ``acceptor``, ``exon``, ``donor``, ``donor_intron``, one model each.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genodeep._validate import InputFileError
from genodeep.models.imported import ImportedGraph
from genodeep.zoo.importers.keras import read_keras_h5

__all__ = ["PUBLISHED", "PublishedModel", "ImportedModel", "build_published", "locate_files"]


@dataclass(frozen=True)
class PublishedModel:
    """A published model read from an installed registry package.

    Attributes
    ----------
    dist : str
        The registry (PyPI) distribution that ships the weights.
    version : str
        The version the importer was verified against.
    files : tuple of str
        Weight files, relative to the distribution's top-level package.
    license, citation, url, description : str
        Written into the package card and metadata.
    members : dict
        For a family of models (MMSplice): member name -> the file it is read from.
    """

    dist: str
    version: str
    files: tuple[str, ...]
    license: str
    citation: str
    url: str
    description: str
    task_names: tuple[str, ...] = ()
    members: dict[str, str] = field(default_factory=dict)


PUBLISHED: dict[str, PublishedModel] = {
    "spliceai": PublishedModel(
        dist="spliceai",
        version="1.3.1",
        files=tuple(f"models/spliceai{i}.h5" for i in range(1, 6)),
        license="GPL-3.0 (GPLv3), as declared by the spliceai package",
        citation="Jaganathan K, et al. Predicting Splicing from Primary Sequence with Deep Learning. "
        "Cell 176(3):535-548 (2019). doi:10.1016/j.cell.2018.12.015",
        url="https://github.com/Illumina/SpliceAI",
        description="SpliceAI-10k: the average of the five published SpliceAI models. Input one-hot "
        "(N, 4, L + 10000); output (N, 3, L): probabilities of neither, acceptor, donor at the "
        "central L positions (5000 bases of context on each side).",
        task_names=("neither", "acceptor", "donor"),
    ),
    "mmsplice": PublishedModel(
        dist="mmsplice",
        version="2.4.0",
        files=(
            "models/Intron3.h5",
            "models/Acceptor.h5",
            "models/Exon.h5",
            "models/Donor.h5",
            "models/Intron5.h5",
        ),
        license="MIT, as declared by the mmsplice package",
        citation="Cheng J, et al. MMSplice: modular modeling improves the predictions of genetic "
        "variant effects on splicing. Genome Biology 20:48 (2019). doi:10.1186/s13059-019-1653-z",
        url="https://github.com/gagneurlab/MMSplice_MTSplice",
        description="MMSplice module {member}: one-hot (N, 4, L) in, (N, 1) out (acceptor and donor: "
        "splice-site probability; intron and exon modules: a linear score).",
        members={
            "acceptor_intron": "models/Intron3.h5",
            "acceptor": "models/Acceptor.h5",
            "exon": "models/Exon.h5",
            "donor": "models/Donor.h5",
            "donor_intron": "models/Intron5.h5",
        },
    ),
}


@dataclass
class ImportedModel:
    """A model converted from published files, with what its package card needs."""

    name: str
    model: ImportedGraph
    data_spec: dict[str, Any]
    metadata: dict[str, Any]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _lookup(name: str) -> PublishedModel:
    if name not in PUBLISHED:
        raise ValueError(
            f"published model {name!r} is not known; choose one of: {', '.join(PUBLISHED)}, or "
            "import a file with `genodeep zoo import FILE.h5|FILE.onnx --name NAME`"
        )
    return PUBLISHED[name]


def locate_files(name: str, path: str | os.PathLike | None = None) -> tuple[list[Path], dict]:
    """The weight files of published model ``name`` and their provenance.

    Parameters
    ----------
    name : str
        A key of :data:`PUBLISHED`.
    path : path, optional
        A folder holding the files (the package folder, e.g. ``.../site-packages/spliceai``, or a copy
        of its ``models/`` folder). Default: the installed distribution.

    Returns
    -------
    files : list of Path
    provenance : dict
        ``package``, ``version`` (None for a folder), ``source`` and ``files`` (name -> sha256).

    Raises
    ------
    ImportError
        The distribution is not installed (with the install command).
    InputFileError
        A weight file is missing.
    """
    pub = _lookup(name)
    version = None
    if path is None:
        try:
            dist = importlib.metadata.distribution(pub.dist)
        except importlib.metadata.PackageNotFoundError as err:
            raise ImportError(
                f"importing {name} reads its weights from the installed {pub.dist!r} package, which "
                f"is not installed; install it (weights only, no TensorFlow needed) with: "
                f"pip install {pub.dist}=={pub.version} --no-deps"
            ) from err
        version = dist.version
        base = Path(str(dist.locate_file(pub.dist)))
        source = f"installed package {pub.dist} {version} ({base})"
    else:
        base = Path(path)
        source = f"folder {base}"
    files = []
    for rel in pub.files:
        candidates = [base / rel, base / Path(rel).name, base / pub.dist / rel]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise InputFileError(
                f"weight file {rel} of {name} not found",
                path=base,
                fix=f"reinstall the package (pip install --force-reinstall {pub.dist}=={pub.version} "
                "--no-deps) or pass the folder that holds its models/ files",
            )
        files.append(found)
    provenance = {
        "package": pub.dist,
        "version": version,
        "verified_version": pub.version,
        "source": source,
        "files": {f.name: _sha256(f) for f in files},
    }
    return files, provenance


def _metadata(name: str, pub: PublishedModel, provenance: dict, extra: str = "") -> dict:
    description = pub.description.format(member=extra) if extra else pub.description
    card = (
        f"{description}\n\nImported by genodeep from the {pub.dist} package "
        f"{provenance.get('version') or '(a folder)'}; weights read from the user's installation, "
        f"never shipped with genodeep.\n\n- licence: {pub.license}\n- citation: {pub.citation}\n"
        f"- source: {pub.url}\n- files (sha256): "
        + ", ".join(f"{k} {v}" for k, v in provenance["files"].items())
    )
    return {
        "description": card,
        "published_model": name,
        "license": pub.license,
        "citation": pub.citation,
        "url": pub.url,
        "provenance": provenance,
    }


def _spliceai(files: list[Path], provenance: dict) -> list[ImportedModel]:
    pub = PUBLISHED["spliceai"]
    nodes: list[dict] = []
    outs: list[str] = []
    state: dict[str, torch.Tensor] = {}
    for i, f in enumerate(files, 1):
        n, ins, o, st, info = read_keras_h5(f, prefix=f"m{i}_")
        if i == 1:
            shared = ins[0]
        else:  # one input for all: the members read the first model's input node
            own = ins[0]
            n = [
                {**node, "inputs": [shared if x == own else x for x in node["inputs"]]}
                for node in n
                if node["name"] != own
            ]
        nodes += n
        outs += o
        state.update(st)
    nodes.append({"name": "average", "op": "average", "inputs": outs, "args": {}})
    model = ImportedGraph(
        nodes=nodes,
        outputs=["average"],
        n_tasks=3,
        source={
            "format": "keras-h5",
            "published": "spliceai",
            "keras_version": info["keras_version"],
        },
    )
    model.load_state_dict(state)
    spec = {
        "task_names": list(pub.task_names),
        "kind": "binary",
        "link": "identity",
        "input_length": None,
        "model_name": "imported",
        "context": 10000,
        "output_offset": 5000,
        "output": "softmax probabilities (neither, acceptor, donor) per position",
    }
    return [ImportedModel("spliceai", model.eval(), spec, _metadata("spliceai", pub, provenance))]


def _mmsplice(files: list[Path], provenance: dict) -> list[ImportedModel]:
    pub = PUBLISHED["mmsplice"]
    out = []
    for (member, rel), f in zip(pub.members.items(), files):
        nodes, _, outs, state, info = read_keras_h5(f)
        length = next(n["args"].get("length") for n in nodes if n["op"] == "input")
        model = ImportedGraph(
            nodes=nodes,
            outputs=outs,
            n_tasks=1,
            input_length=length,
            source={"format": "keras-h5", "published": f"mmsplice/{member}", "file": rel},
        )
        model.load_state_dict(state)
        prov = {**provenance, "files": {f.name: provenance["files"][f.name]}}
        spec = {
            "task_names": [member],
            "kind": "regression",
            "link": "identity",
            "input_length": length,
            "model_name": "imported",
        }
        out.append(
            ImportedModel(
                f"mmsplice_{member}",
                model.eval(),
                spec,
                _metadata("mmsplice", pub, prov, extra=member),
            )
        )
    return out


_BUILDERS = {"spliceai": _spliceai, "mmsplice": _mmsplice}


def build_published(name: str, path: str | os.PathLike | None = None) -> list[ImportedModel]:
    """Convert published model ``name`` (see :data:`PUBLISHED`) from its installed files.

    Returns one :class:`ImportedModel` per package to write (SpliceAI: one, the five-model average;
    MMSplice: one per module).
    """
    _lookup(name)
    files, provenance = locate_files(name, path)
    return _BUILDERS[name](files, provenance)
