"""Honest baselines: scikit-learn models on k-mer counts and on the one-hot sequence (the review's Fig. 1
advice).

Every deep model is reported next to these, on the same split and in the same metrics table:

- ``"logistic"``: L2-regularised logistic regression on k-mer counts (binary tasks),
- ``"linear"``: ridge regression on k-mer counts (regression tasks),
- ``"random_forest"``: random forest classifier / regressor on k-mer counts,
- ``"gradient_boosting"``: histogram gradient-boosted trees on k-mer counts,
- ``"positional"``: L2-regularised logistic regression (binary) or ridge regression (regression) on
  the flattened one-hot sequence (``4 * L`` features, one per base and position). k-mer counts forget
  where a word sits; this model sees nothing but positions, so a site at a fixed offset (a splice site,
  a TSS-anchored element) is visible without deep learning.

k-mer features are counts of each sequence (reverse-complement collapsed, normalised to frequencies),
optionally with gapped k-mers (two half-k-mers separated by 1..``gapped`` unread positions, after
Ghandi et al. 2014). :data:`FEATURES` says which features each baseline reads. Multitask labels are
fitted one model per task; rows whose label is NaN are left out of that task's fit.

>>> preds = fit_baselines(X_train, y_train, X_test, kind="binary", k=4)
>>> preds["logistic"].shape        # (N_test, T)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product
from typing import Literal

import numpy as np

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.seq import encode, kmer_counts

Kind = Literal["binary", "regression"]

_ALPHABET = "ACGT"


def _logistic(kind: str, random_state: int | None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind != "binary":
        raise ValueError(
            "baseline 'logistic' is for kind='binary' (got kind='regression'); use 'linear' (ridge) for "
            "regression targets"
        )
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _linear(kind: str, random_state: int | None):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind != "regression":
        raise ValueError(
            "baseline 'linear' (ridge) is for kind='regression' (got kind='binary'); use 'logistic' for "
            "binary labels"
        )
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def _random_forest(kind: str, random_state: int | None):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if kind == "binary" else RandomForestRegressor
    return cls(n_estimators=200, min_samples_leaf=2, max_features="sqrt", random_state=random_state)


def _gradient_boosting(kind: str, random_state: int | None):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if kind == "binary" else HistGradientBoostingRegressor
    return cls(max_iter=100, learning_rate=0.1, early_stopping=False, random_state=random_state)


#: Inverse L2 strength of the positional logistic regression. scikit-learn sums the loss over rows,
#: so the penalty's relative weight shrinks with N: 0.05 keeps a few hundred rows from fitting noise
#: and costs nothing measurable at 10,000 rows.
POSITIONAL_C = 0.05
#: L2 strength of the positional ridge regression (same reasoning, the penalty on the summed squares).
POSITIONAL_ALPHA = 10.0


def _positional(kind: str, random_state: int | None):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # One-hot columns are already on one scale (0/1); centring alone keeps the intercept free and the
    # penalty from favouring common bases. Scaling each column to unit variance would blow up the
    # rare ones (an N, a base that a conserved position almost never shows) into outliers.
    centre = StandardScaler(with_std=False)
    if kind == "binary":
        return make_pipeline(
            centre, LogisticRegression(C=POSITIONAL_C, solver="lbfgs", max_iter=300)
        )
    return make_pipeline(centre, Ridge(alpha=POSITIONAL_ALPHA))


#: name -> factory(kind, random_state) returning an unfitted scikit-learn estimator.
BASELINES: dict[str, Callable] = {
    "logistic": _logistic,
    "linear": _linear,
    "random_forest": _random_forest,
    "gradient_boosting": _gradient_boosting,
    "positional": _positional,
}

#: name -> the features the baseline reads: ``"kmer"`` (:func:`kmer_features`) or ``"onehot"``
#: (:func:`onehot_features`, one column per base and position).
FEATURES: dict[str, Literal["kmer", "onehot"]] = {
    "logistic": "kmer",
    "linear": "kmer",
    "random_forest": "kmer",
    "gradient_boosting": "kmer",
    "positional": "onehot",
}

#: The baselines run when ``models=None``.
DEFAULT_BASELINES: dict[str, tuple[str, ...]] = {
    "binary": ("logistic", "random_forest", "gradient_boosting", "positional"),
    "regression": ("linear", "random_forest", "gradient_boosting", "positional"),
}


def make_baseline(name: str, *, kind: Kind = "binary", random_state: int | None = 0):
    """An unfitted scikit-learn estimator for baseline ``name`` (see :data:`BASELINES`)."""
    check_choice("name", name, BASELINES)
    check_choice("kind", kind, ("binary", "regression"))
    return BASELINES[name](kind, random_state)


def _codes(seqs) -> np.ndarray:
    """uint8 codes (N, L) with 4 = N from strings, a code array, or one-hot (N, 4, L)."""
    import torch

    if isinstance(seqs, str):
        seqs = [seqs]
    if isinstance(seqs, (list, tuple)) and seqs and isinstance(seqs[0], str):
        return encode(list(seqs))
    if isinstance(seqs, torch.Tensor):
        seqs = seqs.detach().cpu().numpy()
    arr = np.asarray(seqs)
    if arr.ndim == 2:
        return arr.astype(np.uint8)
    if arr.ndim != 3 or arr.shape[1] != 4:
        raise ValueError(
            f"X had shape {arr.shape} while it should have had (N, 4, L) one-hot, or be a list of strings"
        )
    codes = arr.argmax(axis=1).astype(np.uint8)
    codes[arr.sum(axis=1) == 0] = 4
    return codes


def _gapped_rc_index(half1: int, half2: int) -> np.ndarray:
    """For each (a, gap, b) index with a of length half1, b of length half2: its canonical index.

    The reverse complement of ``a _ b`` is ``rc(b) _ rc(a)``; this is only a pattern of the same
    family when half1 == half2, which is how :func:`gapped_kmer_counts` uses it.
    """
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    n1, n2 = 4**half1, 4**half2
    words1 = ["".join(p) for p in product(_ALPHABET, repeat=half1)]
    words2 = ["".join(p) for p in product(_ALPHABET, repeat=half2)]
    idx1 = {w: i for i, w in enumerate(words1)}
    idx2 = {w: i for i, w in enumerate(words2)}
    canon = np.empty(n1 * n2, dtype=np.int64)
    for i, a in enumerate(words1):
        for j, b in enumerate(words2):
            rca = "".join(comp[c] for c in reversed(a))
            rcb = "".join(comp[c] for c in reversed(b))
            own = i * n2 + j
            other = idx1[rcb] * n2 + idx2[rca]
            canon[own] = min(own, other)
    return canon


def gapped_kmer_counts(
    seqs_or_X, k: int, max_gap: int, *, collapse_rc: bool = True, normalize: bool = True
) -> np.ndarray:
    """Counts of gapped k-mers: a ``k//2``-mer, 1..``max_gap`` unread positions, a ``k - k//2``-mer.

    Parameters
    ----------
    seqs_or_X : list of str, uint8 codes (N, L) or one-hot (N, 4, L)
        Sequences.
    k : int
        Informative positions per gapped k-mer (2..8).
    max_gap : int
        Largest gap; gaps 1..max_gap each give their own block of features.
    collapse_rc : bool
        Count a gapped k-mer and its reverse complement as one feature (needs even ``k``).
    normalize : bool
        Divide each gap block by its number of counted positions (frequencies).

    Returns
    -------
    counts : np.ndarray float32, shape (N, max_gap * n_features)
        ``n_features`` is ``4**k``, or the number of canonical patterns with ``collapse_rc``.
        Positions whose window contains an N are skipped.
    """
    if not 2 <= k <= 8:
        raise ValueError(f"k must be between 2 and 8 for gapped k-mers, got {k}")
    check_positive("max_gap", max_gap)
    codes = _codes(seqs_or_X)
    n, length = codes.shape
    h1, h2 = k // 2, k - k // 2
    n_feat = 4**k
    canon = None
    if collapse_rc and h1 == h2:
        canon_full = _gapped_rc_index(h1, h2)
        uniq, canon = np.unique(canon_full, return_inverse=True)
        n_feat = len(uniq)
    blocks = []
    valid_code = codes < 4
    c = np.minimum(codes, 3).astype(np.int64)
    for gap in range(1, max_gap + 1):
        span = k + gap
        m = length - span + 1
        if m <= 0:
            blocks.append(np.zeros((n, n_feat), dtype=np.float32))
            continue
        idx = np.zeros((n, m), dtype=np.int64)
        ok = np.ones((n, m), dtype=bool)
        positions = list(range(h1)) + [h1 + gap + j for j in range(h2)]
        for p in positions:
            idx = idx * 4 + c[:, p : p + m]
            ok &= valid_code[:, p : p + m]
        if canon is not None:
            idx = canon[idx]
        flat = (np.arange(n)[:, None] * n_feat + idx)[ok]
        block = np.bincount(flat, minlength=n * n_feat).reshape(n, n_feat).astype(np.float32)
        if normalize:
            tot = block.sum(axis=1, keepdims=True)
            block /= np.maximum(tot, 1.0)
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def kmer_features(
    seqs_or_X, *, k: int = 4, gapped: int = 0, collapse_rc: bool = True, normalize: bool = True
) -> np.ndarray:
    """Baseline feature matrix: k-mer counts (+ gapped k-mers when ``gapped > 0``).

    Parameters
    ----------
    seqs_or_X : list of str, or one-hot (N, 4, L) tensor/array
        Sequences.
    k : int
        k-mer length (1..8).
    gapped : int
        Largest gap of the gapped k-mer block (0 = none). The gapped block uses ``k`` informative
        positions split into two halves.
    collapse_rc, normalize : bool
        Passed to :func:`genodeep.seq.kmer_counts`.

    Returns
    -------
    features : np.ndarray float32, shape (N, n_features)
    """

    if not 1 <= int(k) <= 8:
        raise ValueError(f"k must be between 1 and 8, got {k}")
    data = seqs_or_X
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], str):
        data = list(data)
    elif not isinstance(data, str):
        import torch

        if isinstance(data, np.ndarray) and data.ndim == 3:
            data = torch.from_numpy(data)
    feats = np.asarray(
        kmer_counts(data, int(k), collapse_rc=collapse_rc, normalize=normalize), dtype=np.float32
    )
    if gapped:
        gk = k if k % 2 == 0 or not collapse_rc else k - 1
        gk = max(gk, 2)
        feats = np.concatenate(
            [
                feats,
                gapped_kmer_counts(
                    seqs_or_X, gk, gapped, collapse_rc=collapse_rc, normalize=normalize
                ),
            ],
            axis=1,
        )
    return feats


def onehot_features(seqs_or_X) -> np.ndarray:
    """Positional baseline features: the one-hot sequence flattened channel-major.

    Parameters
    ----------
    seqs_or_X : list of str (one length), uint8 codes (N, L) or one-hot (N, 4, L) tensor/array
        Sequences; N and other non-ACGT bases are all-zero columns.

    Returns
    -------
    features : np.ndarray float32, shape (N, 4 * L)
        Column ``c * L + i`` is 1 when position ``i`` holds base ``c`` (A, C, G, T), as
        ``X.reshape(N, 4 * L)`` of the one-hot input.
    """
    if isinstance(seqs_or_X, (list, tuple)) and seqs_or_X and isinstance(seqs_or_X[0], str):
        lengths = sorted({len(s) for s in seqs_or_X})
        if len(lengths) != 1:
            raise ValueError(
                f"the positional baseline needs sequences of one length; found lengths "
                f"{lengths[:5]}. Fix: trim or pad them to one length, or leave 'positional' out of "
                "models="
            )
    codes = _codes(seqs_or_X)
    n, length = codes.shape
    table = np.eye(5, 4, dtype=np.float32)  # code 4 (N) -> all zeros
    return np.ascontiguousarray(table[codes].transpose(0, 2, 1)).reshape(n, 4 * length)


def _features(kind: str, X, *, k, gapped, collapse_rc, normalize) -> np.ndarray:
    if kind == "onehot":
        return onehot_features(X)
    return kmer_features(X, k=k, gapped=gapped, collapse_rc=collapse_rc, normalize=normalize)


def _as_2d_labels(y, argument: str) -> np.ndarray:
    import torch

    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"{argument} had shape {y.shape} while it should have had (N, T)")
    return y


def _fit_predict_task(name, kind, random_state, F_train, y, F_test, n_jobs) -> np.ndarray:
    keep = ~np.isnan(y)
    yk = y[keep]
    if kind == "binary":
        if not np.isin(yk, (0.0, 1.0)).all():
            raise ValueError(
                "kind='binary' needs labels 0/1 (or NaN for missing); got other values — use "
                "kind='regression' for continuous targets"
            )
        classes = np.unique(yk)
        if len(classes) < 2:
            # one class only in training: the best any model can say is that class's rate.
            return np.full(len(F_test), float(classes[0]) if len(classes) else 0.5)
        est = _with_jobs(make_baseline(name, kind=kind, random_state=random_state), n_jobs)
        est.fit(F_train[keep], yk.astype(int))
        return est.predict_proba(F_test)[:, 1]
    if len(yk) == 0:
        return np.zeros(len(F_test))
    est = _with_jobs(make_baseline(name, kind=kind, random_state=random_state), n_jobs)
    est.fit(F_train[keep], yk)
    return est.predict(F_test)


def _with_jobs(est, n_jobs: int | None):
    if hasattr(est, "n_jobs"):
        est.set_params(n_jobs=n_jobs)
    return est


def fit_baselines(
    X_train,
    y_train,
    X_test,
    y_test=None,
    *,
    kind: Kind = "binary",
    models: Sequence[str] | None = None,
    k: int = 4,
    gapped: int = 0,
    collapse_rc: bool = True,
    normalize: bool = True,
    n_jobs: int | None = 1,
    random_state: int | None = 0,
    verbose: bool = False,
) -> dict[str, np.ndarray]:
    """Fit the k-mer and positional baselines on the training split and predict the test split.

    Parameters
    ----------
    X_train, X_test : one-hot (N, 4, L) tensor/array, or list of str
        Training and test sequences.
    y_train : array (N_train, T) or (N_train,)
        Labels; NaN marks a missing label, which is left out of that task's fit.
    y_test : array (N_test, T), optional
        Unused by the fit (accepted so calls mirror the metrics call); checked for its row count.
    kind : {"binary", "regression"}
        Classification (predicted probabilities) or regression (predicted values).
    models : sequence of str, optional
        Names from :data:`BASELINES`; default ``DEFAULT_BASELINES[kind]``.
    k, gapped, collapse_rc, normalize
        k-mer features, see :func:`kmer_features` (the ``"positional"`` baseline reads
        :func:`onehot_features` and ignores them).
    n_jobs : int or None
        CPU threads of the tree models (random forest jobs; OpenMP threads of gradient boosting).
        Default 1: on a shared machine OpenMP's busy-waiting threads can make gradient boosting
        tens of times slower; ``None`` uses every core.
    random_state : int, optional
        Seed of the tree models.
    verbose : bool
        Print a status line per baseline.

    Returns
    -------
    predictions : dict[str, np.ndarray float32 of shape (N_test, T)]
        One entry per baseline, in the order requested.
    """
    from threadpoolctl import threadpool_limits

    check_choice("kind", kind, ("binary", "regression"))
    models = tuple(DEFAULT_BASELINES[kind] if models is None else models)
    if isinstance(models, str):
        models = (models,)
    for name in models:
        check_choice("models", name, BASELINES)
        make_baseline(name, kind=kind)  # raises early for logistic/regression mismatches
    y_train = _as_2d_labels(y_train, "y_train")
    opts = {"k": k, "gapped": gapped, "collapse_rc": collapse_rc, "normalize": normalize}
    feats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind_f in dict.fromkeys(FEATURES[name] for name in models):
        F_train = _features(kind_f, X_train, **opts)
        F_test = _features(kind_f, X_test, **opts)
        if len(F_train) != len(y_train):
            raise ValueError(f"X_train has {len(F_train)} rows but y_train has {len(y_train)}")
        if y_test is not None and len(_as_2d_labels(y_test, "y_test")) != len(F_test):
            raise ValueError(f"X_test has {len(F_test)} rows but y_test has {len(y_test)}")
        if F_train.shape[1] != F_test.shape[1]:
            raise ValueError(
                f"X_train gives {F_train.shape[1]} {kind_f} features but X_test gives "
                f"{F_test.shape[1]}: the positional baseline needs train and test sequences of one "
                "length"
            )
        feats[kind_f] = (F_train, F_test)
    out: dict[str, np.ndarray] = {}
    for name in models:
        F_train, F_test = feats[FEATURES[name]]
        if verbose:
            what = "one-hot position" if FEATURES[name] == "onehot" else "k-mer"
            log(f"baseline {name}: {F_train.shape[1]} {what} features, {y_train.shape[1]} task(s)")
        with threadpool_limits(limits=n_jobs, user_api="openmp"):
            cols = [
                _fit_predict_task(name, kind, random_state, F_train, y_train[:, t], F_test, n_jobs)
                for t in range(y_train.shape[1])
            ]
        out[name] = np.stack(cols, axis=1).astype(np.float32)
    return out
