"""MultimodalModel (early/late fusion), its datasets, simulation and interpretation hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genodeep.data.multimodal import GenomeMultimodalDataset, MultimodalDataset
from genodeep.data.simulate import simulate_multimodal
from genodeep.models.multimodal import MultimodalModel, sequence_attributions


def _inputs(n=5, length=40, c_t=2, f=3, binned=False):
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 4, (n, length), generator=g)
    X = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
    track = torch.rand(n, c_t, length // 4 if binned else length, generator=g)
    feats = torch.randn(n, f, generator=g)
    return X, track, feats


@pytest.mark.parametrize("fusion", ["late", "early"])
def test_forward_positional_equals_keyword_and_shapes(fusion):
    X, track, feats = _inputs()
    model = MultimodalModel(n_tasks=3, track_channels=2, n_features=3, fusion=fusion, filters=[6, 5],
                            widths=[5, 3], pools=[2, 1]).eval()  # fmt: skip
    assert model.inputs == ("sequence", "track", "features")
    out = model(X, track, feats)
    assert out.shape == (5, 3)
    torch.testing.assert_close(out, model(X, track=track, features=feats))
    torch.testing.assert_close(out, model(X.to(torch.int8), track, features=feats))
    assert model.output_shape(40) == (3,) and model.receptive_field == 5 + 1 + 2 * 2


def test_late_fusion_is_the_concatenation_of_three_towers():
    X, track, feats = _inputs()
    model = MultimodalModel(
        track_channels=2, n_features=3, filters=[4], widths=[3], dense=[]
    ).eval()
    seq = model.seq_conv(X).amax(-1)
    t = torch.relu(model.track_tower[0](track))
    tr = torch.cat([t.amax(-1), t.mean(-1)], 1)
    fe = torch.relu(model.feature_tower[0](feats))
    lin = model.head[0]
    torch.testing.assert_close(
        model(X, track, feats), torch.cat([seq, tr, fe], 1) @ lin.weight.T + lin.bias
    )


def test_early_fusion_convolves_sequence_and_track_channels_together():
    X, track, _ = _inputs(c_t=1)
    model = MultimodalModel(
        track_channels=1, fusion="early", filters=[4], widths=[3], dense=[]
    ).eval()
    conv = model.seq_conv[0]
    assert conv.in_channels == 5
    h = torch.relu(
        nn.functional.conv1d(torch.cat([X, track], 1), conv.weight, conv.bias, padding=1)
    )
    lin = model.head[0]
    torch.testing.assert_close(model(X, track), h.amax(-1) @ lin.weight.T + lin.bias)
    # the track matters: a different track changes the prediction
    assert not torch.allclose(model(X, track), model(X, track + 1.0))


def test_input_errors_say_what_to_do():
    X, track, feats = _inputs(binned=True)
    early = MultimodalModel(track_channels=2, fusion="early")
    with pytest.raises(ValueError, match="per-base track"):
        early(X, track)
    late = MultimodalModel(track_channels=2)
    assert late(X, track).shape == (5, 1)  # binned tracks are fine for late fusion
    with pytest.raises(ValueError, match="missing input"):
        late(X)
    with pytest.raises(ValueError, match="built without it"):
        late(X, track, features=feats)
    with pytest.raises(ValueError, match=r"should have had \(5, 2, L_t\)"):
        late(X, track[:, :1])
    seq_only = MultimodalModel()
    assert seq_only.inputs == ("sequence",)
    with pytest.raises(TypeError, match="positional inputs"):
        seq_only(X, track)


def test_fixed_inputs_match_the_full_model_and_split_local():
    X, track, feats = _inputs()
    model = MultimodalModel(n_tasks=2, track_channels=2, n_features=3, batch_norm=True).eval()
    full = model(X, track, feats)
    for i in range(3):
        f = model.with_fixed_inputs(track=track[i], features=feats[i])
        torch.testing.assert_close(f(X[i : i + 1]), full[i : i + 1])
        local, head = f.split_local()
        torch.testing.assert_close(head(local(X[i : i + 1])), full[i : i + 1])
    aligned = model.with_fixed_inputs(track=track, features=feats)
    torch.testing.assert_close(aligned(X), full)
    with pytest.raises(ValueError, match="rows but the batch has"):
        aligned(X[:2])
    over_track = model.with_fixed_inputs(sequence=X[:1], features=feats[:1])
    torch.testing.assert_close(over_track(track[:1]), full[:1])
    with pytest.raises(ValueError, match="needs track="):
        model.with_fixed_inputs(features=feats[:1])


def test_fast_ism_through_fixed_inputs_equals_full_forward_ism():
    from genodeep.interpret.ism import _fast_plan, saturation_mutagenesis

    X, track, feats = _inputs(n=2, length=30)
    model = MultimodalModel(
        n_tasks=2, track_channels=2, n_features=3, filters=[5], widths=[7]
    ).eval()
    fixed = model.with_fixed_inputs(track=track[:1], features=feats[:1])
    assert _fast_plan(fixed, 30) is not None  # the fast path applies
    fast = saturation_mutagenesis(fixed, X[:1], fast=True, device="cpu")
    slow = saturation_mutagenesis(fixed, X[:1], fast=False, device="cpu")
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-4)
    # and it is the real effect of a substitution
    mutant = X[:1].clone()
    mutant[0, :, 10] = (
        torch.tensor([1.0, 0, 0, 0]) if X[0, 0, 10] == 0 else torch.tensor([0, 1.0, 0, 0])
    )
    base = int(mutant[0, :, 10].argmax())
    with torch.no_grad():
        delta = model(mutant, track[:1], feats[:1]).sum() - model(X[:1], track[:1], feats[:1]).sum()
    assert float(fast[0, base, 10]) == pytest.approx(float(delta), abs=1e-5)


def test_sequence_attributions_per_example_gradients():
    from genodeep.interpret.gradients import saliency

    X, track, feats = _inputs(n=3)
    model = MultimodalModel(track_channels=2, n_features=3).eval()
    attr = sequence_attributions(saliency, model, X, track=track, features=feats, device="cpu")
    Xg = X.clone().requires_grad_(True)
    model(Xg, track, feats).sum().backward()
    torch.testing.assert_close(attr, Xg.grad.abs())
    t_attr = sequence_attributions(
        saliency, model, X, track=track, features=feats, over="track", device="cpu"
    )
    tg = track.clone().requires_grad_(True)
    model(X, tg, feats).sum().backward()
    torch.testing.assert_close(t_attr, tg.grad.abs())


def test_multimodal_dataset_batches_and_rc_augmentation():
    X, track, feats = _inputs(n=6)
    y = torch.arange(6.0)
    ds = MultimodalDataset(X.to(torch.int8), y, track=track, features=feats)
    assert ds.inputs == ("sequence", "track", "features") and len(ds) == 6
    (x0, t0, f0), y0 = ds[2]
    torch.testing.assert_close(x0, X[2])
    torch.testing.assert_close(t0, track[2])
    assert float(y0) == 2.0
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    (xb, tb, fb), yb = next(iter(loader))
    assert (
        xb.shape == (4, 4, 40)
        and tb.shape == (4, 2, 40)
        and fb.shape == (4, 3)
        and yb.shape == (4, 1)
    )
    aug = MultimodalDataset(X, y, track=track, rc_augment=True, random_state=0)
    (xa, ta), ya = aug.get_batch(np.arange(6))
    flipped = ~torch.isclose(xa, X).all(dim=(1, 2))
    assert flipped.any() and (~flipped).any()
    torch.testing.assert_close(xa[flipped], X[flipped].flip((1, 2)))
    torch.testing.assert_close(ta[flipped], track[flipped].flip(2))
    torch.testing.assert_close(ya, y[:, None])
    with pytest.raises(ValueError, match=r"\(N, F\)"):
        MultimodalDataset(X, y, features=feats[:3])


def test_genome_multimodal_dataset_reads_sequence_and_track(tmp_path):
    import pandas as pd

    from genodeep.io.fasta import Genome
    from genodeep.io.signal import SignalTrack

    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), size=200))
    (tmp_path / "g.fa").write_text(f">chrA\n{seq}\n")
    genome = Genome(tmp_path / "g.fa", cache_dir=tmp_path / "cache")
    signal = rng.random(200).astype(np.float32) * 5
    track = SignalTrack.from_arrays({"chrA": signal})
    windows = pd.DataFrame({"chrom": ["chrA", "chrA"], "start": [10, 100], "end": [50, 140]})
    ds = GenomeMultimodalDataset(genome, windows, [1.0, 0.0], tracks={"atac": track}, bin_size=4)
    (x, t), y = ds.get_batch([0, 1])
    assert ds.inputs == ("sequence", "track") and ds.track_names == ["atac"]
    from genodeep.seq.encode import one_hot

    torch.testing.assert_close(x[1], one_hot(seq[100:140]).float())
    expected = np.log1p(signal[100:140].reshape(10, 4).mean(1))
    np.testing.assert_allclose(t[1, 0].numpy(), expected, rtol=1e-6)
    assert y.tolist() == [[1.0], [0.0]]
    model = MultimodalModel(track_channels=1)
    assert model(x, t).shape == (2, 1)


def test_simulation_label_is_motif_and_open():
    sim = simulate_multimodal(400, 100, n_features=2, random_state=0)
    assert sim.X.shape == (400, 4, 100) and sim.track.shape == (400, 1, 100)
    np.testing.assert_array_equal(sim.y[:, 0].numpy() == 1, sim.motif & sim.open)
    assert 0.4 < sim.motif.mean() < 0.6 and 0.4 < sim.open.mean() < 0.6
    # open windows carry more accessibility signal; the planted motif is in the sequences
    mean = sim.track[:, 0].mean(1).numpy()
    assert mean[sim.open].mean() > mean[~sim.open].mean() + 0.1
    from genodeep.seq.encode import decode

    seqs = decode(sim.X)
    has = np.array(["TGACGTCA" in s for s in seqs])  # palindrome: either strand
    assert has[sim.motif].all()
    np.testing.assert_allclose(
        sim.features[:, 0].numpy(), [(s.count("G") + s.count("C")) / 100 for s in seqs], atol=1e-6
    )
    binned = simulate_multimodal(10, 100, bin_size=10, random_state=0)
    assert binned.track.shape == (10, 1, 10)
    with pytest.raises(ValueError, match="must divide"):
        simulate_multimodal(10, 100, bin_size=7)


def test_single_input_bound_is_five_sixths():
    from genodeep.train.metrics import auroc
    from genodeep.workflows.showcase import _single_input_bound

    assert _single_input_bound(0.5, 0.5) == pytest.approx(5 / 6)
    sim = simulate_multimodal(4000, 50, random_state=1)
    y = sim.y.numpy()
    assert float(auroc(y, sim.motif[:, None].astype(float))[0]) == pytest.approx(5 / 6, abs=0.02)


def test_model_package_round_trip(tmp_path):
    from genodeep.zoo import load, save_package

    X, track, feats = _inputs()
    model = MultimodalModel(n_tasks=2, track_channels=2, n_features=3, fusion="early").eval()
    pkg = load(save_package(model, tmp_path / "mm", data_spec={"inputs": list(model.inputs)}))
    torch.testing.assert_close(pkg.model(X, track, feats), model(X, track, feats))


@pytest.mark.slow
def test_fit_trains_a_multimodal_model_from_a_multimodal_dataset():
    from genodeep.train.fit import fit, predict_dataset

    sim = simulate_multimodal(256, 60, random_state=0)
    ds = sim.dataset()
    model = MultimodalModel(track_channels=1, filters=[4], widths=[5], dense=[4])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, ds, ds, loss="bce", max_epochs=1, batch_size=64, verbose=False)
    assert any(not torch.equal(before[k], v) for k, v in result.model.state_dict().items())
    assert "valid_auroc" in result.history
    y_true, y_pred = predict_dataset(result.model, ds, activation="sigmoid", device="cpu")
    assert y_pred.shape == (256, 1) and torch.equal(y_true, sim.y)


@pytest.mark.parametrize("fusion", ["late", "early"])
def test_deeplift_completeness_holds_through_fixed_inputs(fusion):
    from genodeep.interpret.deeplift import deep_lift_shap
    from genodeep.seq.shuffle import dinucleotide_shuffle

    sim = simulate_multimodal(1, 60, n_features=2, random_state=0)
    model = MultimodalModel(track_channels=1, n_features=2, fusion=fusion).eval()
    fixed = model.with_fixed_inputs(track=sim.track, features=sim.features)
    X = sim.X.float()
    refs = dinucleotide_shuffle(X, n=4, random_state=1)  # (1, 4, 4, L)
    attr = deep_lift_shap(fixed, X, references=refs, device="cpu")
    with torch.no_grad():
        expected = fixed(X).sum() - fixed(refs[0]).mean()
    assert float(attr.sum()) == pytest.approx(float(expected), abs=1e-5)
