"""TF-MoDISco discovery: planted JASPAR motifs are recovered from DeepLIFT/SHAP scores of a hand-set model."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

from genodeep import example_data
from genodeep.interpret.api import attribute
from genodeep.io import read_motifs
from genodeep.models import DeepBind
from genodeep.motifs import discover_motifs, log_odds
from genodeep.seq import one_hot, simulate_motif_presence
from genodeep.workflows.motifs import write_discovery

PLANTED = ("MA0035.5 GATA1", "MA0058.4 MAX")


def _motif_model(pwms: list[np.ndarray]) -> DeepBind:
    """DeepBind whose filter k is the log-odds of motif k; output = sum over filters of the best site."""
    width = max(p.shape[1] for p in pwms)
    model = DeepBind(filters=len(pwms), width=width, hidden=0, pool="max")
    with torch.no_grad():
        conv = model.local[0]
        conv.weight.zero_()
        for k, pwm in enumerate(pwms):
            lo = torch.tensor(log_odds(pwm), dtype=torch.float32)
            conv.weight[k, :, : lo.shape[1]] = lo
            conv.bias[k] = -0.5 * float(lo.max(0).values.sum())  # half the best score
        linear = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)][0]
        linear.weight.fill_(1.0)
        linear.bias.zero_()
    return model.eval()


@pytest.fixture(scope="module")
def database():
    return read_motifs(example_data.motifs())


def _simulation(database):
    seqs, _, planted = simulate_motif_presence(
        300, 100, {k: database[k] for k in PLANTED}, positive_fraction=0.7, random_state=0
    )
    return one_hot(seqs, dtype=torch.float32), planted, _motif_model([database[k] for k in PLANTED])


def _run_discovery():
    """Attributions + discovery on the simulation; runs in a fresh process (see the test)."""
    database = read_motifs(example_data.motifs())
    X, _, model = _simulation(database)
    # 8 references: 64 // 8 sequences per batch
    res_attr = attribute(
        model, X, method="deepliftshap", n_shuffles=8, random_state=0, device="cpu"
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*target motifs.*")  # 17-motif database
        res = discover_motifs(
            X,
            res_attr.attributions,
            res_attr.hypothetical,
            database=database,
            sliding_window_size=15,
            flank_size=5,
            min_metacluster_size=20,
            initial_flank_to_add=5,
        )
    return res, time.perf_counter() - t0


@pytest.mark.slow
def test_discovery_recovers_planted_motifs(database, tmp_path, monkeypatch):
    # modisco-lite forks workers only while numba's threading layer is fork-safe; once memelite
    # (motifs.compare, run by earlier tests) has started numba's OpenMP layer in this process it
    # compiles and runs in-process, ~4x slower (45 s instead of 11 s here). A fresh process with the
    # fork-safe workqueue layer keeps the test's time independent of the test order.
    import concurrent.futures
    import multiprocessing

    monkeypatch.setenv("NUMBA_THREADING_LAYER", "workqueue")
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        res, elapsed = pool.submit(_run_discovery).result(timeout=300)
    X, planted, model = _simulation(database)
    summary = res.summary()
    print(summary.to_string(), f"\nmodisco {res.runtime_s:.1f} s, discovery total {elapsed:.1f} s")
    # every planted motif is the best match (q < 0.05) of a discovered pattern
    found = summary[summary["q_value"] < 0.05]
    assert set(PLANTED) <= set(found["best_match"]), summary
    # and each pattern is matched only to its own motif
    for _, row in found.iterrows():
        assert row["best_match"] in PLANTED
    # seqlets sit on instances of the motif their pattern matches: planted ones, or background
    # words the hand-set filter also fires on (GATA is short: random sequence holds many)
    with torch.no_grad():
        fires = model.local(X) > 0  # (N, filters, L - w + 1): window starts where a filter fires
    for _, row in found.iterrows():
        seqlets = res.seqlets[res.seqlets["pattern"] == row["pattern"]]
        assert len(seqlets) == row["n_seqlets"] >= 20
        k = PLANTED.index(row["best_match"])
        sites = planted[planted["motif"] == row["best_match"]]
        w = database[row["best_match"]].shape[1]
        n_planted = n_firing = 0
        for s in seqlets.itertuples():
            on = sites[
                (sites["seq"] == s.seq) & (sites["start"] < s.end) & (sites["end"] > s.start)
            ]
            n_planted += len(on) > 0
            lo = max(0, s.start - w + 1)
            n_firing += bool(fires[s.seq, k, lo : max(lo, s.end)].any())
        assert n_planted / len(seqlets) > 0.7
        assert n_firing == len(seqlets)
    # CWMs are positive contributions with the PFM's shape
    for name, pfm in res.patterns.items():
        assert res.cwms[name].shape == pfm.shape
        np.testing.assert_allclose(pfm.sum(axis=0), 1.0, atol=1e-9)
        if name.startswith("pos_"):
            assert res.cwms[name].sum() > 0

    out = write_discovery(res, tmp_path / "disc")
    for f in ("patterns.meme", "patterns.npz", "summary.tsv", "matches.tsv", "seqlets.tsv"):
        assert (out / f).stat().st_size > 0
    back = read_motifs(out / "patterns.meme")
    assert list(back) == list(res.patterns)
    name = next(iter(res.patterns))
    np.testing.assert_allclose(back[name], res.patterns[name], atol=1e-5)
    assert (out / "logos" / f"{name}.pfm.png").read_bytes()[:4] == b"\x89PNG"


def test_discover_argument_errors():
    X = torch.zeros(3, 4, 50)
    with pytest.raises(ValueError, match="hypothetical="):
        discover_motifs(X)
    with pytest.raises(ValueError, match=r"should have had \(3, 4, 50\)"):
        discover_motifs(X, hypothetical=torch.zeros(3, 4, 40))
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        discover_motifs(torch.zeros(3, 50, 4), hypothetical=torch.zeros(3, 50, 4))
    with pytest.raises(ValueError, match="shorter than a seqlet"):
        discover_motifs(torch.zeros(3, 4, 20), hypothetical=torch.zeros(3, 4, 20))
    with pytest.raises(ValueError, match="window=60 is longer"):
        discover_motifs(X, hypothetical=X, window=60)


def test_inconsistent_attributions_warn(monkeypatch):
    """attributions that are not X * hypothetical are flagged (TF-MoDISco recomputes them)."""
    import modiscolite.tfmodisco

    monkeypatch.setattr(modiscolite.tfmodisco, "TFMoDISco", lambda **kw: (None, None))
    X = one_hot(["ACGT" * 10] * 2, dtype=torch.float32)
    hyp = torch.randn(2, 4, 40)
    with pytest.warns(RuntimeWarning, match="differ from X"):
        res = discover_motifs(X, hyp, hyp)
    assert res.patterns == {} and res.summary().empty
    # consistent input: no warning, and an empty result is written without patterns files
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        discover_motifs(X, X * hyp, hyp)


def test_motif_matching_without_a_database_says_which_it_uses(capsys):
    """No --database: all of JASPAR CORE (never a taxon guessed for the user), and the command says so."""
    pytest.importorskip("pyjaspar")
    from genodeep.workflows.motifs import DEFAULT_DATABASE, resolve_database

    assert resolve_database(None) == DEFAULT_DATABASE == "jaspar"
    err = capsys.readouterr().err
    assert "no --database given: matching motifs against JASPAR" in err
    assert "all taxonomic groups" in err
    assert resolve_database("jaspar:insects") == "jaspar:insects"
    assert "CORE, insects" in capsys.readouterr().err
