"""Small file helpers shared by readers and writers: opening (gzip-aware) and atomic writes."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
import zlib
from collections.abc import Iterator

from genodeep._validate import InputFileError, check_file_exists

#: the fix named when a gzip/bgzip stream cannot be decompressed to its end
TRUNCATED_GZIP_FIX = "the file is truncated or not gzip; re-download or re-compress it"
#: what decompressing a cut or damaged gzip stream raises (gzip.BadGzipFile is an OSError)
GZIP_ERRORS = (EOFError, OSError, zlib.error)


def is_gzip(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip and bgzip alike)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_text(path: str | os.PathLike, what: str = "file") -> io.TextIOBase:
    """Open a text file for reading, transparently decompressing gzip/bgzip.

    A gzip stream that is cut short or damaged raises :class:`InputFileError` naming the file and the
    last line read (never a raw ``EOFError``/``zlib.error``/``gzip.BadGzipFile``).
    """
    check_file_exists(path, what)
    if is_gzip(path):
        return _GzipText(path)
    return open(path, encoding="utf-8", errors="replace")


class _GzipText(io.TextIOWrapper):
    """UTF-8 text of a gzip file; decompression errors become :class:`InputFileError`.

    Lines handed out are counted so that the error can say where reading stopped. Iterating a
    subclass of ``io.TextIOWrapper`` goes through :meth:`readline`, so ``for line in fh`` is covered.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
        self._path = os.fspath(path)
        self._lines = 0

    def _fail(self, err: BaseException) -> InputFileError:
        where = f"after line {self._lines:,}" if self._lines else "in the first block read"
        return InputFileError(
            f"the gzip data ends or breaks {where} ({type(err).__name__}: {err})",
            path=self._path,
            line=self._lines + 1,
            fix=TRUNCATED_GZIP_FIX,
        )

    def readline(self, size: int = -1) -> str:
        try:
            line = super().readline(size)
        except GZIP_ERRORS as err:
            raise self._fail(err) from None
        self._lines += line.endswith("\n")
        return line

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:  # in blocks, so that an error knows the lines read before it
            parts = []
            while block := self.read(1 << 16):
                parts.append(block)
            return "".join(parts)
        try:
            text = super().read(size)
        except GZIP_ERRORS as err:
            raise self._fail(err) from None
        self._lines += text.count("\n")
        return text


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    A run that fails therefore never leaves a half-written output file.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = "".join(_suffixes(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def share_like_umask(folder: str | os.PathLike) -> None:
    """Give a folder written through a private temporary directory (``mkdtemp`` makes it 0700) and
    its files the permissions of a normally created one: ``0o777`` (folders) or ``0o666`` (files)
    minus the umask, so that a shared zoo or run folder is readable by others where the umask allows."""
    mask = _umask()
    folder = os.fspath(folder)
    os.chmod(folder, 0o777 & ~mask)
    for parent, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(parent, d), 0o777 & ~mask)
        for f in files:
            os.chmod(os.path.join(parent, f), 0o666 & ~mask)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", compress: bool | None = None):
    """Open ``path`` for writing through a temporary file that is renamed on success.

    ``compress=None`` gzips when the name ends in ``.gz``.
    """
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    with atomic_path(path) as tmp:
        if compress:
            binary = "b" in mode
            raw = gzip.open(tmp, "wb")
            fh = raw if binary else io.TextIOWrapper(raw, encoding="utf-8")
        else:
            fh = open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"}))
        try:
            yield fh
        finally:
            fh.close()


def _suffixes(path: str) -> list[str]:
    base = os.path.basename(path)
    parts = base.split(".")
    return ["." + p for p in parts[1:]][-2:]
