"""Zoo mirrors: configure them, search them, pull models from them, publish models as a mirror folder.

A mirror is a remote zoo: a base URL (``https://``, ``http://``, ``file://`` or a folder path) serving
``index.json`` and one ``NAME.tar.gz`` package archive per model. Its ``index.json`` has the local zoo's
index format (one entry per model: ``checksums``, ``created``, ``description``) plus

``archive``
    file name of the package archive beside ``index.json``
``size``, ``sha256``
    bytes and sha256 of that archive, checked before anything is extracted
``kind``, ``task_names``, ``input_length``
    from the data spec, so that :func:`search` shows them without downloading a package

:func:`publish` writes such a folder (serve it with ``python -m http.server``, any web server, or use
the folder path itself). Configured mirrors live in the zoo's ``config.json`` and in
``$GENODEEP_ZOO_MIRRORS`` (comma-separated). Configuring a mirror contacts nothing: only :func:`search`
and :func:`pull`, on explicit request, reach a mirror (through :mod:`genodeep.zoo.mirror`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import InputFileError, near_matches
from genodeep.models.spec import ModelSpec
from genodeep.zoo import mirror as _net
from genodeep.zoo.package import _CHECKSUMS, _FILES, _sha256, extract_archive, verify_package
from genodeep.zoo.registry import (
    _check_name,
    _read_index,
    _write_index,
    install,
    verify,
    zoo_dir,
)

ENV_VAR = "GENODEEP_ZOO_MIRRORS"
_CONFIG = "config.json"
_INDEX = "index.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COLUMNS = ["name", "kind", "tasks", "input_length", "size", "description", "mirror"]


# ------------------------------------------------------------------------------------------------
# configured mirrors


def _read_config(root: Path) -> dict:
    p = root / _CONFIG
    if not p.exists():
        return {}
    try:
        cfg = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise InputFileError(
            f"zoo config is not valid JSON ({err})",
            path=p,
            fix='fix it or remove it; it holds {"mirrors": [URL, ...]}',
        ) from err
    if not isinstance(cfg, dict) or not isinstance(cfg.get("mirrors", []), list):
        raise InputFileError(
            'zoo config should be an object with a "mirrors" list',
            path=p,
            fix='write {"mirrors": [URL, ...]} or remove the file',
        )
    return cfg


def _env_mirrors() -> list[str]:
    out = []
    for url in os.environ.get(ENV_VAR, "").split(","):
        if url.strip():
            try:
                out.append(_net.normalize_url(url))
            except ValueError as err:
                raise ValueError(f"${ENV_VAR}: {err}") from err
    return out


def list_mirrors(*, root=None) -> pd.DataFrame:
    """The configured mirrors: columns ``url`` and ``source`` (``config`` or ``$GENODEEP_ZOO_MIRRORS``).

    Nothing is contacted.
    """
    rows = [{"url": u, "source": f"${ENV_VAR}"} for u in _env_mirrors()]
    seen = {r["url"] for r in rows}
    for url in _read_config(zoo_dir(root)).get("mirrors", []):
        if url not in seen:
            rows.append({"url": url, "source": "config"})
            seen.add(url)
    return pd.DataFrame(rows, columns=["url", "source"])


def _config_mirrors(url: str, root) -> tuple[Path, str, dict, list[str]]:
    """(zoo folder, normalised ``url``, config, its mirror list) for editing the mirror list."""
    root = zoo_dir(root)
    cfg = _read_config(root)
    return root, _net.normalize_url(url), cfg, list(cfg.get("mirrors", []))


def _write_mirrors(root: Path, cfg: dict, mirrors: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with atomic_write(root / _CONFIG) as fh:
        json.dump({**cfg, "mirrors": mirrors}, fh, indent=2)


def add_mirror(url: str, *, root=None) -> str:
    """Record a mirror in the zoo's config file (nothing is contacted); return its normalised URL."""
    root, url, cfg, mirrors = _config_mirrors(url, root)
    if url not in mirrors:
        _write_mirrors(root, cfg, [*mirrors, url])
    return url


def remove_mirror(url: str, *, root=None) -> None:
    """Forget a mirror recorded by :func:`add_mirror`."""
    root, url, cfg, mirrors = _config_mirrors(url, root)
    if url not in mirrors:
        if url in _env_mirrors():
            raise ValueError(f"mirror {url} comes from ${ENV_VAR}; change that variable instead")
        known = ", ".join(mirrors) or "(none configured)"
        raise KeyError(f"no mirror {url} in {root / _CONFIG}; configured: {known}")
    mirrors.remove(url)
    _write_mirrors(root, cfg, mirrors)


def _targets(mirror: str | None, root) -> list[str]:
    if mirror is not None:
        return [_net.normalize_url(mirror)]
    urls = list_mirrors(root=root)["url"].tolist()
    if not urls:
        raise ValueError(
            "no zoo mirrors configured: add one with `genodeep zoo mirror add URL`, set "
            f"${ENV_VAR}=URL[,URL...], or pass mirror=URL (--mirror URL)"
        )
    return urls


# ------------------------------------------------------------------------------------------------
# reading mirrors (network, on explicit request only)


def fetch_index(url: str, *, timeout: float = 30.0) -> dict[str, dict]:
    """Download and check a mirror's ``index.json``."""
    index_url = _net.join(url, _INDEX)
    data = _net.fetch_bytes(index_url, timeout=timeout)
    try:
        index = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _net.MirrorError(
            f"not a zoo index: invalid JSON ({err})",
            path=index_url,
            fix="check the mirror URL: it should be the folder holding index.json",
        ) from err
    if not isinstance(index, dict) or not all(isinstance(v, dict) for v in index.values()):
        raise _net.MirrorError(
            "not a zoo index: expected an object of model entries",
            path=index_url,
            fix="check the mirror URL: it should be the folder holding index.json",
        )
    return index


def search(
    text: str | None = None, *, mirror: str | None = None, root=None, timeout: float = 30.0
) -> pd.DataFrame:
    """Models available on the configured mirrors (or on ``mirror``) whose name/description has ``text``.

    Contacts each mirror to read its ``index.json``; a mirror that cannot be read is reported and
    skipped, unless none can be read.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, kind, tasks, input_length, size, description, mirror``.
    """
    rows: list[dict] = []
    errors: list[Exception] = []
    urls = _targets(mirror, root)
    for url in urls:
        try:
            index = fetch_index(url, timeout=timeout)
        except _net.MirrorError as err:
            errors.append(err)
            continue
        for name, entry in sorted(index.items()):
            haystack = f"{name} {entry.get('description', '')} {entry.get('kind', '')}".lower()
            if text and text.lower() not in haystack:
                continue
            rows.append(
                {
                    "name": name,
                    "kind": entry.get("kind", ""),
                    "tasks": len(entry.get("task_names") or []),
                    "input_length": entry.get("input_length", entry.get("sequence_length", "")),
                    "size": entry.get("size", ""),
                    "description": entry.get("description", ""),
                    "mirror": url,
                }
            )
    _report(errors, every_mirror_failed=len(errors) == len(urls))
    return pd.DataFrame(rows, columns=_COLUMNS)


def _report(errors: list[Exception], *, every_mirror_failed: bool) -> None:
    if errors and every_mirror_failed:
        raise errors[0]
    for err in errors:
        log(f"warning: skipped a mirror: {err}")


def _archive_of(entry: dict, name: str, index_url: str) -> tuple[str, int | None, str]:
    archive = entry.get("archive", f"{name}.tar.gz")
    fix = "ask the mirror's maintainer to re-publish it (genodeep zoo publish)"
    if (
        not isinstance(archive, str)
        or archive != Path(archive).name
        or archive.startswith(".")
        or "\\" in archive
        or not archive.endswith(".tar.gz")
    ):
        raise _net.MirrorError(
            f"entry {name!r} names archive {archive!r}, not a plain NAME.tar.gz file name",
            path=index_url,
            fix=fix,
        )
    sha = str(entry.get("sha256", "")).lower()
    if not _SHA256.match(sha):
        raise _net.MirrorError(
            f"entry {name!r} has no valid archive sha256; refusing an unverifiable download",
            path=index_url,
            fix=fix,
        )
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise _net.MirrorError(f"entry {name!r} has a bad size {size!r}", path=index_url, fix=fix)
    return archive, size, sha


def _find(name: str, urls: list[str], timeout: float) -> tuple[str, dict]:
    seen: list[str] = []
    errors: list[Exception] = []
    for url in urls:
        try:
            index = fetch_index(url, timeout=timeout)
        except _net.MirrorError as err:
            errors.append(err)
            continue
        if name in index:
            return url, index[name]
        seen.extend(index)
    _report(errors, every_mirror_failed=len(errors) == len(urls))
    hint = near_matches(name, seen)
    msg = f"no model named {name!r} on mirror(s) {', '.join(urls)}; available: "
    msg += ", ".join(sorted(set(seen))) or "(none)"
    if hint:
        msg += f" (did you mean {', '.join(hint)}?)"
    raise KeyError(msg)


def pull(
    name: str,
    *,
    mirror: str | None = None,
    root=None,
    overwrite: bool = False,
    timeout: float = 60.0,
    verbose: bool = True,
) -> str:
    """Download a model from a mirror and install it into the local zoo; return its zoo name.

    The archive is downloaded to a temporary file in the zoo folder; its sha256 must match the
    mirror's index before it is extracted; then every package file is checked against the package's
    own checksums and the model is rebuilt once; only then is it moved into the zoo. A tampered,
    truncated or otherwise failed download leaves nothing installed.

    Parameters
    ----------
    name : str
        Model name in the mirror's index.
    mirror : str, optional
        Mirror URL or folder (default: every configured mirror, in order, until one has ``name``).
    root : path, optional
        Zoo folder (default: :func:`genodeep.zoo.zoo_dir`).
    overwrite : bool
        Replace a local model of the same name.
    timeout : float
        Seconds to wait for a mirror on each request.
    verbose : bool
        Progress bar for the download.
    """
    _check_name(name)
    root = zoo_dir(root)
    if (name in _read_index(root) or (root / name).exists()) and not overwrite:
        raise FileExistsError(
            f"zoo already has a model named {name!r}; pass overwrite=True (--overwrite)"
        )
    url, entry = _find(name, _targets(mirror, root), timeout)
    archive, size, sha = _archive_of(entry, name, _net.join(url, _INDEX))
    archive_url = _net.join(url, archive)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=root))
    try:
        local = staging / archive
        digest = _net.download(archive_url, local, size=size, timeout=timeout, verbose=verbose)
        if digest != sha:
            raise _net.MirrorError(
                f"sha256 of the download ({digest}) differs from the mirror's index ({sha}): "
                "tampered or damaged archive; nothing was installed",
                path=archive_url,
                fix="pull again; if it persists, tell the mirror's maintainer",
            )
        folder = extract_archive(local, staging / "pkg")
        sums = verify_package(folder)
        if entry.get("checksums") and sums != entry["checksums"]:
            raise _net.MirrorError(
                "the package's file checksums differ from those in the mirror's index",
                path=archive_url,
                fix="tell the mirror's maintainer to re-publish the model",
            )
        extra = {"mirror": url, "archive": archive, "sha256": digest}
        return install(folder, name, root=root, overwrite=overwrite, extra=extra)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# writing a mirror folder (no network)


def publish(name: str, *, to: str | os.PathLike, root=None, overwrite: bool = False) -> Path:
    """Write a zoo model as ``TO/NAME.tar.gz`` and add it to ``TO/index.json``, making ``TO`` a mirror.

    Parameters
    ----------
    name : str
        A model of the local zoo (its checksums are verified first).
    to : path
        Mirror folder (created if needed); other models already published there are kept.
    root : path, optional
        Zoo folder.
    overwrite : bool
        Replace a model of the same name already published in ``to``.

    Returns
    -------
    Path of the archive.
    """
    root = zoo_dir(root)
    verify(name, root=root)
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    index = _read_index(to)
    archive = to / f"{name}.tar.gz"
    if name in index and not overwrite:
        raise FileExistsError(
            f"{to / _INDEX} already lists {name!r}; pass overwrite=True (--overwrite) to replace it"
        )
    src = root / name
    with atomic_path(archive) as tmp:
        with tarfile.open(tmp, "w:gz") as tar:
            for f in (*_FILES, _CHECKSUMS):
                tar.add(src / f, arcname=f"{name}/{f}")
    spec = ModelSpec.from_dict(json.loads((src / "data_spec.json").read_text()))
    index[name] = {
        **_read_index(root)[name],
        "archive": archive.name,
        "size": archive.stat().st_size,
        "sha256": _sha256(archive),
        "kind": spec.kind,
        "task_names": list(spec.task_names),
        "input_length": spec.input_length,
    }
    index[name].pop("mirror", None)  # where the local copy came from is not part of this mirror
    _write_index(to, index)
    return archive
