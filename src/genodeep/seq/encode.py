"""One-hot encoding of DNA: strings and byte arrays to ``(N, 4, L)`` tensors and back.

Channels are A, C, G, T (``ALPHABET``). Every conversion goes through one 256-entry lookup table and a
compiled kernel (numba), so there is no Python work per base:

- lowercase is the same as uppercase (soft-masked sequence encodes like unmasked sequence);
- the IUPAC ambiguity codes N, R, Y, S, W, K, M, B, D, H, V (any case) become code 4, an all-zero column
  in the one-hot encoding;
- any other character (a gap ``-``, ``U``, a digit, whitespace, a non-ASCII character) raises
  ``ValueError`` naming the sequence index, the position and the character.

Codes (``uint8``): A=0, C=1, G=2, T=3, N and the other IUPAC codes = 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch

__all__ = [
    "ALPHABET",
    "encode",
    "one_hot",
    "one_hot_codes",
    "decode",
    "reverse_complement",
]

ALPHABET = "ACGT"
_AMBIGUOUS = "NRYSWKMBDHV"
_INVALID = 255
_BYTES_PER_CHUNK = 1 << 20  # bytes joined per kernel call: bounds the temporary buffer, in cache


def _rows_per_chunk(length: int) -> int:
    return max(1, _BYTES_PER_CHUNK // max(1, length))


def _build_table() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for code, base in enumerate(ALPHABET):
        table[ord(base)] = code
        table[ord(base.lower())] = code
    for base in _AMBIGUOUS:
        table[ord(base)] = 4
        table[ord(base.lower())] = 4
    table.flags.writeable = False
    return table


#: byte -> code lookup table (256 entries); 255 marks a character that is not allowed.
BYTE_TO_CODE = _build_table()
#: code -> identity for 0..4, 255 for anything larger (validates code arrays with the same kernel).
_CODE_TO_CODE = np.full(256, _INVALID, dtype=np.uint8)
_CODE_TO_CODE[:5] = np.arange(5)
_CODE_TO_CODE.flags.writeable = False
#: code -> letter
_CODE_TO_BYTE = np.frombuffer(b"ACGTN", dtype=np.uint8)

_COMPLEMENT_FROM = "ACGTRYKMSWBDHVNacgtrykmswbdhvn"
_COMPLEMENT_TO = "TGCAYRMKSWVHDBNtgcayrmkswvhdbn"
_RC_STR = str.maketrans(_COMPLEMENT_FROM, _COMPLEMENT_TO)
_RC_BYTES = bytes.maketrans(_COMPLEMENT_FROM.encode(), _COMPLEMENT_TO.encode())


# --------------------------------------------------------------------------------------------------
# kernels (compiled on first use, cached on disk by numba)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _onehot_kernel(out, buf, table):  # pragma: no cover - compiled
    """Write ``out[i, k, j] = table[buf[i * L + j]] == k`` for an (n, 4, L) C-contiguous ``out``.

    Returns the largest code seen (above 4 means an invalid byte).
    """
    n = out.shape[0]
    length = out.shape[2]
    flat = out.reshape(-1)
    row = np.empty(length, dtype=np.uint8)
    worst = np.uint8(0)
    ul = np.uint64(length)
    # Unsigned indices let LLVM drop the negative-index checks and vectorise the loops.
    for i in range(n):
        src = np.uint64(i) * ul
        for j in range(length):
            c = table[buf[src + np.uint64(j)]]
            row[np.uint64(j)] = c
            worst = max(worst, c)
        dst = np.uint64(i) * np.uint64(4) * ul
        for k in range(4):
            kk = np.uint8(k)
            base = dst + np.uint64(k) * ul
            for j in range(length):
                flat[base + np.uint64(j)] = row[np.uint64(j)] == kk
    return worst


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _codes_kernel(out, buf, table):  # pragma: no cover - compiled
    """``out[j] = table[buf[j]]`` for 1-D arrays; returns the largest code seen."""
    worst = np.uint8(0)
    for j in range(buf.shape[0]):
        c = table[buf[np.uint64(j)]]
        out[np.uint64(j)] = c
        worst = max(worst, c)
    return worst


# --------------------------------------------------------------------------------------------------
# helpers


def _invalid_character_error(index: int, position: int, char: str) -> ValueError:
    what = f"character {char!r}" if len(char) == 1 else char
    return ValueError(
        f"sequence {index}, position {position}: {what} is not a DNA base. Allowed are "
        f"A, C, G, T (any case) and the IUPAC ambiguity codes {' '.join(_AMBIGUOUS)}, which encode "
        "as an all-zero column. Fix: replace the character (e.g. by N) or remove it"
    )


def _locate_invalid(chunk: Sequence[str | bytes], offset: int) -> ValueError:
    """Find the first disallowed character of ``chunk`` (the slow path, only taken on error)."""
    for i, seq in enumerate(chunk):
        raw = seq.encode("utf-8", "surrogatepass") if isinstance(seq, str) else bytes(seq)
        if isinstance(seq, str) and not seq.isascii():
            for pos, ch in enumerate(seq):
                if ord(ch) > 127 or BYTE_TO_CODE[ord(ch)] == _INVALID:
                    return _invalid_character_error(offset + i, pos, ch)
        codes = BYTE_TO_CODE[np.frombuffer(raw, dtype=np.uint8)]
        bad = np.flatnonzero(codes == _INVALID)
        if bad.size:
            pos = int(bad[0])
            byte = raw[pos]
            char = chr(byte) if byte < 128 else f"byte 0x{byte:02x}"
            return _invalid_character_error(offset + i, pos, char)
    return ValueError("invalid character in sequences")  # pragma: no cover - not reached


def _as_sequence_list(seqs: object, argument: str = "seqs") -> tuple[list, bool]:
    """Return (list of str/bytes, single) for the accepted sequence inputs."""
    if isinstance(seqs, (str, bytes, bytearray, memoryview)):
        return [seqs if isinstance(seqs, (str, bytes)) else bytes(seqs)], True
    if isinstance(seqs, np.ndarray):
        if seqs.dtype.kind in "US":
            if seqs.ndim == 0:
                return [seqs.item()], True
            return seqs.reshape(-1).tolist(), False
        raise TypeError(
            f"{argument} is a numpy array of dtype {seqs.dtype}; pass strings, or a uint8 code array "
            "of shape (N, L) to one_hot / one_hot_codes"
        )
    if isinstance(seqs, torch.Tensor):
        raise TypeError(
            f"{argument} is a torch.Tensor of shape {tuple(seqs.shape)}; it is already encoded. "
            "Pass strings, or use decode() to get strings back"
        )
    try:
        items = seqs if isinstance(seqs, list) else list(seqs)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{argument} must be a str, bytes or a list of str/bytes, got {type(seqs).__name__}"
        ) from None
    return items, False


def _type_error(items: list, argument: str = "seqs") -> TypeError:
    kind = str if isinstance(items[0], str) else bytes
    for i, item in enumerate(items):
        if not isinstance(item, (str, bytes, bytearray, memoryview)):
            return TypeError(
                f"{argument}[{i}] is a {type(item).__name__}; every sequence must be a str or bytes"
            )
        if not isinstance(item, kind) and (kind is str or isinstance(item, str)):
            break
    return TypeError(f"{argument} must be all str or all bytes, not a mixture")


def _check_equal_lengths(items: list) -> int:
    if not items:
        return 0
    try:
        length = len(items[0])
        lengths = set(map(len, items))
    except TypeError:
        raise _type_error(items) from None
    if len(lengths) > 1:
        first_bad = next(i for i, s in enumerate(items) if len(s) != length)
        raise ValueError(
            f"sequences must all have the same length to be stacked into (N, 4, L): sequence 0 has "
            f"length {length} but sequence {first_bad} has length {len(items[first_bad])}. "
            "Fix: trim or pad them to one length (e.g. with N), or encode them one at a time"
        )
    return length


def _chunk_bytes(chunk: list, offset: int) -> np.ndarray:
    """Join a chunk of equal-length str/bytes into one read-only uint8 array."""
    if isinstance(chunk[0], str):
        try:
            joined = "".join(chunk).encode("ascii")
        except TypeError:
            raise _type_error(chunk) from None
        except UnicodeEncodeError:
            raise _locate_invalid(chunk, offset) from None
    else:
        try:
            joined = b"".join(chunk)
        except TypeError:
            raise _type_error(chunk) from None
    return np.frombuffer(joined, dtype=np.uint8)


def _to_dtype(X: np.ndarray, dtype: torch.dtype | None) -> torch.Tensor:
    """Wrap a uint8 0/1 array as a tensor of ``dtype`` (int8 / uint8 / bool without a copy)."""
    dtype = torch.int8 if dtype is None else dtype
    if dtype == torch.int8:
        return torch.from_numpy(X.view(np.int8))
    if dtype == torch.uint8:
        return torch.from_numpy(X)
    if dtype == torch.bool:
        return torch.from_numpy(X.view(np.bool_))
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")
    if dtype in _NUMPY_FLOATS:  # numpy's cast is ~10x faster than Tensor.to for int8 -> float here
        return torch.from_numpy(X.astype(_NUMPY_FLOATS[dtype]))
    return torch.from_numpy(X.view(np.int8)).to(dtype)


_NUMPY_FLOATS = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}


def _onehot_uint8(items: list, length: int) -> np.ndarray:
    n = len(items)
    out = np.empty((n, 4, length), dtype=np.uint8)
    rows = _rows_per_chunk(length)
    for start in range(0, n, rows):
        chunk = items[start : start + rows]
        buf = _chunk_bytes(chunk, start)
        worst = _onehot_kernel(out[start : start + len(chunk)], buf, BYTE_TO_CODE)
        if worst > 4:
            raise _locate_invalid(chunk, start)
    return out


# --------------------------------------------------------------------------------------------------
# public API


def encode(seqs: str | bytes | Sequence[str] | Sequence[bytes]) -> np.ndarray:
    """Integer codes of DNA sequences.

    Parameters
    ----------
    seqs : str, bytes, or list of str/bytes of equal length
        The sequences. Lowercase is the same as uppercase; the IUPAC ambiguity codes N, R, Y, S, W,
        K, M, B, D, H, V become code 4.

    Returns
    -------
    codes : np.ndarray of uint8, shape (N, L), or (L,) for a single str/bytes
        A=0, C=1, G=2, T=3, N and other IUPAC codes = 4.

    Raises
    ------
    ValueError
        For a character that is neither a base nor an IUPAC code (naming the sequence index, the
        position and the character), or for sequences of unequal length.
    """
    items, single = _as_sequence_list(seqs)
    length = _check_equal_lengths(items)
    out = np.empty((len(items), length), dtype=np.uint8)
    flat = out.reshape(-1)
    rows = _rows_per_chunk(length)
    for start in range(0, len(items), rows):
        chunk = items[start : start + rows]
        buf = _chunk_bytes(chunk, start)
        n = len(chunk) * length
        worst = _codes_kernel(flat[start * length : start * length + n], buf, BYTE_TO_CODE)
        if worst > 4:
            raise _locate_invalid(chunk, start)
    return out[0] if single else out


def one_hot_codes(codes: np.ndarray, dtype: torch.dtype = torch.int8) -> torch.Tensor:
    """One-hot encode integer codes by table lookup.

    Parameters
    ----------
    codes : np.ndarray of integers, shape (N, L) or (L,)
        Codes A=0, C=1, G=2, T=3, N=4 (as produced by :func:`encode`).
    dtype : torch.dtype, default torch.int8
        Output dtype; int8, uint8 and bool are returned without a copy.

    Returns
    -------
    X : torch.Tensor, shape (N, 4, L), or (4, L) for 1-D ``codes``
        Channels A, C, G, T; code 4 gives an all-zero column.
    """
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iub":
        raise TypeError(
            f"codes must be an integer array (uint8 codes 0-4), got dtype {codes.dtype}"
        )
    if codes.ndim not in (1, 2):
        raise ValueError(f"codes had shape {codes.shape} while it should have had (N, L) or (L,)")
    single = codes.ndim == 1
    c2 = codes[None] if single else codes
    if c2.dtype != np.uint8:
        if c2.size and (c2.min() < 0 or c2.max() > 4):
            bad = np.argwhere((c2 < 0) | (c2 > 4))[0]
            raise ValueError(
                f"codes must be 0-4 (A, C, G, T, N); sequence {bad[0]}, position {bad[1]} is "
                f"{c2[tuple(bad)]}. Fix: encode strings with genodeep.seq.encode"
            )
        c2 = c2.astype(np.uint8)
    buf = np.ascontiguousarray(c2).reshape(-1).view()
    buf.flags.writeable = False
    n, length = c2.shape
    out = np.empty((n, 4, length), dtype=np.uint8)
    worst = _onehot_kernel(out, buf, _CODE_TO_CODE)
    if worst > 4:
        bad = np.argwhere(c2 > 4)[0]
        raise ValueError(
            f"codes must be 0-4 (A, C, G, T, N); sequence {bad[0]}, position {bad[1]} is "
            f"{c2[tuple(bad)]}. Fix: encode strings with genodeep.seq.encode"
        )
    X = _to_dtype(out, dtype)
    return X[0] if single else X


def one_hot(
    seqs: str | bytes | Sequence[str] | Sequence[bytes] | np.ndarray,
    *,
    dtype: torch.dtype = torch.int8,
) -> torch.Tensor:
    """One-hot encode DNA sequences into channels A, C, G, T.

    Parameters
    ----------
    seqs : str, bytes, list of str/bytes of equal length, or np.ndarray of uint8 codes (N, L)
        The sequences. Lowercase is the same as uppercase. The IUPAC ambiguity codes N, R, Y, S, W,
        K, M, B, D, H, V give an all-zero column. A uint8 array is taken as codes (see
        :func:`one_hot_codes`).
    dtype : torch.dtype, default torch.int8
        Output dtype; int8 (the default), uint8 and bool cost no copy, other dtypes one conversion.

    Returns
    -------
    X : torch.Tensor, shape (N, 4, L), or (4, L) for a single str/bytes

    Raises
    ------
    ValueError
        For any other character (naming the sequence index, the position and the character) or for
        sequences of unequal length.

    Examples
    --------
    >>> one_hot(["ACGT", "acgn"]).shape
    torch.Size([2, 4, 4])
    """
    if isinstance(seqs, np.ndarray) and seqs.dtype.kind in "iu":
        return one_hot_codes(seqs, dtype=dtype)
    items, single = _as_sequence_list(seqs)
    length = _check_equal_lengths(items)
    X = _to_dtype(_onehot_uint8(items, length), dtype)
    return X[0] if single else X


def _onehot_to_array(X: torch.Tensor | np.ndarray, argument: str = "X") -> tuple[np.ndarray, bool]:
    """(N, 4, L) numpy view of a tensor/array, and whether the input was a single (4, L)."""
    if isinstance(X, torch.Tensor):
        x = X.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        x = x.numpy()
    else:
        x = np.asarray(X)
    if x.ndim == 2:
        if x.shape[0] != 4:
            raise ValueError(f"{argument} had shape {x.shape} while it should have had (4, L)")
        return x[None], True
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(
            f"{argument} had shape {tuple(x.shape)} while it should have had (N, 4, L) or (4, L)"
        )
    return x, False


def codes_from_one_hot(X: torch.Tensor | np.ndarray) -> np.ndarray:
    """Codes (N, L) uint8 of a one-hot (N, 4, L) or (4, L) input: the largest channel, 4 if all zero.

    Returns (L,) for a (4, L) input.
    """
    x, single = _onehot_to_array(X)
    if x.dtype == np.bool_:
        x = x.view(np.uint8)
    codes = x.argmax(axis=1).astype(np.uint8)
    codes[~(x != 0).any(axis=1)] = 4
    return codes[0] if single else codes


def decode(X: torch.Tensor | np.ndarray) -> list[str] | str:
    """Strings of one-hot encoded sequences.

    Parameters
    ----------
    X : torch.Tensor or np.ndarray, shape (N, 4, L) or (4, L)
        One-hot (or probability-like) columns, channels A, C, G, T.

    Returns
    -------
    seqs : list of N str, or one str for a (4, L) input
        Each column becomes the letter of its largest channel (the first on ties); an all-zero
        column becomes ``"N"``. ``decode(one_hot(s)) == s.upper()`` with every IUPAC code as N.
    """
    codes = codes_from_one_hot(X)
    single = codes.ndim == 1
    codes = codes[None] if single else codes
    letters = _CODE_TO_BYTE[codes]
    out = [row.tobytes().decode("ascii") for row in letters]
    return out[0] if single else out


def decode_codes(codes: np.ndarray) -> list[str] | str:
    """Strings of code arrays (N, L) or (L,) (A=0, C=1, G=2, T=3, 4 -> N)."""
    codes = np.asarray(codes)
    letters = _CODE_TO_BYTE[np.minimum(codes, 4).astype(np.intp)]
    if letters.ndim == 1:
        return letters.tobytes().decode("ascii")
    return [row.tobytes().decode("ascii") for row in letters]


def reverse_complement(x):
    """Reverse complement of a sequence or of one-hot encoded sequences.

    Parameters
    ----------
    x : str, bytes, list of str, torch.Tensor or np.ndarray of shape (..., 4, L)
        A string is complemented letter by letter (IUPAC codes included: R<->Y, K<->M, B<->V,
        D<->H; S, W, N unchanged; case kept; other characters kept as they are) and reversed. A
        one-hot tensor/array has its channels (A, C, G, T) and positions flipped.

    Returns
    -------
    rc : same type as ``x`` (a new object; ``x`` is not modified)
    """
    if isinstance(x, str):
        return x.translate(_RC_STR)[::-1]
    if isinstance(x, (bytes, bytearray)):
        return bytes(x).translate(_RC_BYTES)[::-1]
    if isinstance(x, torch.Tensor):
        if x.ndim < 2 or x.shape[-2] != 4:
            raise ValueError(
                f"x had shape {tuple(x.shape)} while it should have had (..., 4, L) (channels A, C, G, T)"
            )
        return torch.flip(x, dims=(-2, -1))
    if isinstance(x, np.ndarray):
        if x.ndim < 2 or x.shape[-2] != 4:
            raise ValueError(
                f"x had shape {x.shape} while it should have had (..., 4, L) (channels A, C, G, T)"
            )
        return np.ascontiguousarray(np.flip(x, axis=(-2, -1)))
    if isinstance(x, (list, tuple)):
        return [reverse_complement(s) for s in x]
    raise TypeError(
        f"x must be a str, bytes, list of str, or a one-hot tensor/array, got {type(x).__name__}"
    )
