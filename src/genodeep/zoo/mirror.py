"""Fetching files from zoo mirrors: the only network code of genodeep.

It runs only on an explicit user request (``genodeep zoo search``, ``genodeep zoo pull`` or the API
functions :func:`genodeep.zoo.search` and :func:`genodeep.zoo.pull`); nothing in genodeep downloads
implicitly. A mirror is a base URL — ``https://``, ``http://``, ``file://`` or a plain folder path —
serving ``index.json`` and the package archives it names. Only the standard library (``urllib``) is
used, with a ``genodeep/VERSION`` User-Agent and a timeout on every request.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from genodeep._progress import progress
from genodeep._validate import InputFileError
from genodeep._version import __version__

SCHEMES = ("http", "https", "file")
CHUNK = 1 << 16
MAX_INDEX_BYTES = 16 << 20
_FIX = (
    "check the mirror URL and your network (genodeep zoo mirror list), "
    "or install a package file directly with `genodeep zoo add FILE`"
)


class MirrorError(InputFileError):
    """A mirror could not be reached, or served something other than what its index promises."""


def normalize_url(url: str) -> str:
    """A mirror's base URL: ``http(s)://`` and ``file://`` URLs as given, folder paths as ``file://``.

    No trailing slash. Raises ``ValueError`` for other schemes.
    """
    url = str(url).strip()
    if not url:
        raise ValueError("mirror URL is empty; give an http(s):// or file:// URL or a folder path")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in SCHEMES:
        return url.rstrip("/")
    if "://" in url:
        raise ValueError(
            f"mirror URL {url!r} has an unsupported scheme {scheme!r}; "
            f"use one of {', '.join(s + '://' for s in SCHEMES)} or a folder path"
        )
    return Path(url).expanduser().resolve().as_uri()


def join(base: str, name: str) -> str:
    """``base/name`` with ``name`` URL-quoted."""
    return normalize_url(base) + "/" + urllib.parse.quote(name)


def _user_agent() -> str:

    return f"genodeep/{__version__} (model zoo)"


def _open(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as err:
        raise MirrorError(
            f"the mirror answered HTTP {err.code} ({err.reason})", path=url, fix=_FIX
        ) from err
    except urllib.error.URLError as err:
        raise MirrorError(
            f"cannot reach the mirror ({_reason(err.reason)})", path=url, fix=_FIX
        ) from err
    except TimeoutError as err:
        raise MirrorError(f"no answer within {timeout:g} s (timeout)", path=url, fix=_FIX) from err
    except OSError as err:
        raise MirrorError(f"cannot reach the mirror ({_reason(err)})", path=url, fix=_FIX) from err


def _reason(reason) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def fetch_bytes(url: str, *, timeout: float = 30.0, max_bytes: int = MAX_INDEX_BYTES) -> bytes:
    """Read a small file (a mirror's ``index.json``) in full; refuse more than ``max_bytes``."""
    with _open(url, timeout) as resp:
        try:
            data = resp.read(max_bytes + 1)
        except (TimeoutError, OSError) as err:
            raise MirrorError(f"download interrupted ({_reason(err)})", path=url, fix=_FIX) from err
    if len(data) > max_bytes:
        raise MirrorError(f"larger than {max_bytes} bytes; not a zoo index", path=url, fix=_FIX)
    return data


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    size: int | None = None,
    timeout: float = 60.0,
    verbose: bool = True,
) -> str:
    """Stream ``url`` into the file ``dest`` with a progress bar; return the sha256 of the bytes.

    Parameters
    ----------
    url : str
        File to fetch.
    dest : path
        Local file to write (the caller decides what happens to it next).
    size : int, optional
        Expected number of bytes: reading stops past it, and a shorter or longer file is refused.
    timeout : float
        Seconds to wait for the server on each read.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    str
        Hex sha256 of the downloaded bytes.
    """

    h = hashlib.sha256()
    n = 0
    with _open(url, timeout) as resp, open(dest, "wb") as fh:
        total = size if size is not None else _content_length(resp)
        chunks = _chunks(resp, url, limit=None if size is None else size + 1)
        n_chunks = None if total is None else max(1, -(-total // CHUNK))
        desc = f"download {url.rsplit('/', 1)[-1]}"
        for chunk in progress(chunks, total=n_chunks, desc=desc, verbose=verbose):
            h.update(chunk)
            fh.write(chunk)
            n += len(chunk)
    if size is not None and n != size:
        what = "truncated" if n < size else "longer than expected"
        raise MirrorError(
            f"download is {what}: {n} bytes, the mirror's index says {size}",
            path=url,
            fix="pull again; if it persists the mirror's archive or index is damaged",
        )
    return h.hexdigest()


def _content_length(resp) -> int | None:
    value = resp.headers.get("Content-Length") if resp.headers else None
    return int(value) if value and value.isdigit() else None


def _chunks(resp, url: str, *, limit: int | None):
    read = 0
    while limit is None or read < limit:
        try:
            chunk = resp.read(CHUNK if limit is None else min(CHUNK, limit - read))
        except (TimeoutError, OSError) as err:
            raise MirrorError(
                f"download interrupted after {read} bytes ({_reason(err)})", path=url, fix=_FIX
            ) from err
        if not chunk:
            return
        read += len(chunk)
        yield chunk
