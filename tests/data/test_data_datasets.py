"""Datasets: windows read from a Genome with augmentation, batched gathering, FASTA data sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep import InputFileError
from genodeep.data import GenomeDataset, SequenceDataset, read_fasta_dataset
from genodeep.io.fasta import Genome
from genodeep.io.signal import SignalTrack
from genodeep.seq import one_hot, reverse_complement


@pytest.fixture
def genome(tmp_path, rng):
    seqs = {
        "chr1": "".join(rng.choice(list("ACGT"), 3000)),
        "chr2": "".join(rng.choice(list("ACGTN"), 800)),
    }
    fa = tmp_path / "g.fa"
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in seqs.items()))
    g = Genome(fa, verbose=False)
    g.seqs = seqs  # the truth, for the tests
    return g


def _windows(rng, n=40, width=100):
    chrom = rng.choice(["chr1", "2"], n)  # "2" is harmonised to the genome's chr2
    start = np.where(chrom == "chr1", rng.integers(0, 2900, n), rng.integers(0, 700, n))
    return pd.DataFrame({"chrom": chrom.astype(object), "start": start, "end": start + width})


def _truth(genome, chrom, start, width):
    s = genome.seqs["chr1" if chrom == "chr1" else "chr2"]
    text = "".join(s[p] if 0 <= p < len(s) else "N" for p in range(start, start + width))
    return one_hot(text).float()


def test_items_equal_genome_windows(genome, rng):
    w = _windows(rng)
    y = rng.random((len(w), 3)).astype(np.float32)
    ds = GenomeDataset(genome, w, y)
    assert len(ds) == 40 and ds.n_tasks == 3
    for i in (0, 7, 39):
        X, yi = ds[i]
        assert X.dtype == torch.float32 and X.shape == (4, 100)
        torch.testing.assert_close(X, _truth(genome, w.chrom[i], w.start[i], 100))
        torch.testing.assert_close(yi, torch.from_numpy(y[i]))
    X, yb = ds.get_batch([3, 1])
    assert X.shape == (2, 4, 100) and yb.shape == (2, 3)
    assert GenomeDataset(genome, w)[0][1].shape == (0,)


def test_dataloader_uses_one_gather_per_batch(genome, rng, monkeypatch):
    w = _windows(rng)
    ds = GenomeDataset(genome, w, np.arange(len(w), dtype=np.float32))
    calls = []
    orig = genome.one_hot
    monkeypatch.setattr(genome, "one_hot", lambda *a, **k: calls.append(1) or orig(*a, **k))
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=False)
    batches = list(loader)
    assert len(calls) == 3 and [b[0].shape[0] for b in batches] == [16, 16, 8]
    X = torch.cat([b[0] for b in batches])
    ref = torch.stack([_truth(genome, c, s, 100) for c, s in zip(w.chrom, w.start)])
    torch.testing.assert_close(X, ref)
    assert torch.cat([b[1] for b in batches])[:, 0].tolist() == list(range(40))


def test_rc_and_shift_augmentation(genome, rng):
    w = _windows(rng, 30)
    profile = rng.random((30, 2, 100)).astype(np.float32)
    ds = GenomeDataset(genome, w, profile, rc_augment=True, random_state=0)
    n_rc = 0
    for i in range(30):
        X, y = ds[i]
        fwd = _truth(genome, w.chrom[i], w.start[i], 100)
        if torch.equal(X, fwd):
            torch.testing.assert_close(y, torch.from_numpy(profile[i]))
        else:
            torch.testing.assert_close(X, reverse_complement(fwd))
            torch.testing.assert_close(y, torch.from_numpy(profile[i][:, ::-1].copy()))
            n_rc += 1
    assert 5 < n_rc < 25
    ds = GenomeDataset(genome, w, max_shift=5, random_state=1)
    shifts = []
    for i in range(30):
        X, _ = ds[i]
        found = [
            d
            for d in range(-5, 6)
            if torch.equal(X, _truth(genome, w.chrom[i], w.start[i] + d, 100))
        ]
        assert found
        shifts.append(found[0])
    assert len(set(shifts)) > 3
    a = GenomeDataset(genome, w, max_shift=5, random_state=7).get_batch(range(30))[0]
    b = GenomeDataset(genome, w, max_shift=5, random_state=7).get_batch(range(30))[0]
    torch.testing.assert_close(a, b)  # reproducible with a seed


def test_signal_targets_follow_shift_and_rc(genome, rng):
    w = _windows(rng, 20)
    track = SignalTrack.from_arrays({"chr1": rng.random(3000), "chr2": rng.random(800)})
    ds = GenomeDataset(genome, w, signal={"cov": track}, bin_size=10, agg="sum",
                       rc_augment=True, max_shift=3, random_state=0)  # fmt: skip
    assert ds.task_names == ["cov"] and ds.n_tasks == 1
    for i in range(20):
        X, y = ds[i]
        assert y.shape == (1, 10)
        for d in range(-3, 4):
            fwd = _truth(genome, w.chrom[i], w.start[i] + d, 100)
            ref = track.values(
                ["chr1" if w.chrom[i] == "chr1" else "chr2"],
                [w.start[i] + d],
                100,
                bin_size=10,
                agg="sum",
            )
            if torch.equal(X, fwd):
                np.testing.assert_allclose(y[0].numpy(), ref[0], rtol=1e-6)
                break
            if torch.equal(X, reverse_complement(fwd)):
                np.testing.assert_allclose(y[0].numpy(), ref[0][::-1], rtol=1e-6)
                break
        else:
            raise AssertionError(f"sample {i} matches no shift")


def test_dataset_argument_errors(genome, rng):
    w = _windows(rng, 10)
    with pytest.raises(ValueError, match="same width"):
        GenomeDataset(genome, pd.concat([w, w.assign(end=w.end + 1)]))
    with pytest.raises(ValueError, match=r"\(10, T\)"):
        GenomeDataset(genome, w, np.zeros((9, 2)))
    with pytest.raises(ValueError, match="signal="):
        GenomeDataset(genome, w, np.zeros((10, 2, 100)), max_shift=2)
    with pytest.raises(ValueError, match="not in the genome"):
        GenomeDataset(genome, w.assign(chrom="chr7"))
    with pytest.raises(ValueError, match="not both"):
        GenomeDataset(genome, w, np.zeros(10), signal=SignalTrack.from_arrays({"chr1": np.ones(5)}))


def test_sequence_dataset(rng):
    X = one_hot(["".join(rng.choice(list("ACGT"), 20)) for _ in range(8)])
    y = np.arange(8, dtype=np.float32)
    ds = SequenceDataset(X, y, rc_augment=True, random_state=0)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))
    assert batch[0].dtype == torch.float32 and batch[1].tolist() == [[float(i)] for i in range(8)]
    for i in range(8):
        assert torch.equal(batch[0][i], X[i].float()) or torch.equal(
            batch[0][i], reverse_complement(X[i]).float()
        )
    assert len(SequenceDataset(X)) == 8 and SequenceDataset(X)[0][1].shape == (0,)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        SequenceDataset(X[:, :3])


# ---- FASTA data sets -------------------------------------------------------------------------------


def test_read_fasta_dataset_header_forms(tmp_path):
    p = tmp_path / "a.fa"
    p.write_text(">s1 label=1 some words\nACGT\n>s2 label=0\nacgn\n")
    X, y, names = read_fasta_dataset(p)
    assert X.dtype == torch.int8 and X.shape == (2, 4, 4) and names == ["s1", "s2"]
    assert y.tolist() == [[1.0], [0.0]] and X[1, :, 3].sum() == 0
    p.write_text(">s1|1|0|NA\nACGT\n>s2|0|1|1\nACGT\n")
    X, y, names = read_fasta_dataset(p)
    assert names == ["s1", "s2"] and y.shape == (2, 3) and np.isnan(y[0, 2])
    p.write_text(">s1 labels=1,0\nACGT\n>s2 y=0,1\nACGT\n")
    assert read_fasta_dataset(p)[1].tolist() == [[1, 0], [0, 1]]
    p.write_text(">ENA|X1|gene\nACGT\n>ENA|X2|gene\nACGT\n")  # not labels: plain names
    X, y, names = read_fasta_dataset(p)
    assert y is None and names == ["ENA|X1|gene", "ENA|X2|gene"]


def test_read_fasta_dataset_with_simulation_table(tmp_path, rng):
    from genodeep.seq.simulate import write_simulation

    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(5)]
    labels = rng.integers(0, 2, (5, 2)).astype(float)
    planted = pd.DataFrame({"seq": [], "motif": [], "start": [], "end": [], "strand": []})
    paths = write_simulation(tmp_path, seqs, labels, planted, ["a", "b"])
    X, y, names = read_fasta_dataset(paths["fasta"], labels=paths["labels"])
    assert names == [f"seq{i}" for i in range(5)]
    np.testing.assert_array_equal(y, labels.astype(np.float32))
    torch.testing.assert_close(X, one_hot(seqs))
    shuffled = pd.read_csv(paths["labels"], sep="\t").iloc[::-1]  # table order does not matter
    np.testing.assert_array_equal(read_fasta_dataset(paths["fasta"], labels=shuffled)[1], y)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (">s1\nACGT\n>s2\nACG\n", 3, "3 bp but the first record is 4 bp"),
        (">s1 label=1\nACGT\n>s2\nACGT\n", 3, "0 header label"),
        (">s1 label=1\nACGT\n>s2 label=yes\nACGT\n", 3, "cannot read the labels"),
        (">s1|1\nACGT\n>s1|0\nACGT\n", 3, "appears twice"),
    ],
)
def test_read_fasta_dataset_errors(tmp_path, text, line, words):
    p = tmp_path / "bad.fa"
    p.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_fasta_dataset(p)
    assert str(p) in str(info.value) and info.value.line == line and words in str(info.value)


def test_read_fasta_dataset_missing_from_table(tmp_path):
    p = tmp_path / "a.fa"
    p.write_text(">s1\nACGT\n>s2\nACGT\n")
    table = tmp_path / "l.tsv"
    table.write_text("name\tA\ns1\t1\n")
    with pytest.raises(InputFileError, match="no row in the label table") as info:
        read_fasta_dataset(p, labels=table)
    assert info.value.line == 3 and str(p) in str(info.value)


@pytest.mark.slow
def test_real_insulator_dataset(shared_data, tmp_path):
    from genodeep.data import split_by_region, tile_and_label

    genome = Genome(shared_data / "dm3" / "chr2R.fa.gz", cache_dir=tmp_path, verbose=False)
    beds = sorted((shared_data / "dm3" / "insulators").glob("*.bed"))
    windows, y, names = tile_and_label(genome, beds, width=1000, stride=1000, max_n_fraction=0.1)
    assert len(names) == 8 and 0.01 < y.mean() < 0.2
    sp = split_by_region(windows, valid="chr2R:12000000-16000000", test="chr2R:16000000-21146708")
    ds = GenomeDataset(genome, sp["train"], y[sp["train"].index], rc_augment=True, random_state=0)
    X, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)))
    assert X.shape == (64, 4, 1000) and yb.shape == (64, 8)
    assert torch.all(X.sum(1) <= 1) and X.sum() > 0.9 * 64 * 1000


@pytest.mark.slow  # starts worker processes (~5 s)
def test_workers_get_different_augmentations(genome, rng):
    w = pd.DataFrame({"chrom": ["chr1"] * 64, "start": [500] * 64, "end": [600] * 64})
    ds = GenomeDataset(genome, w, max_shift=20, random_state=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=2)
    a, b = (batch[0] for batch in loader)  # one batch from each worker
    fwd = {d: _truth(genome, "chr1", 500 + d, 100) for d in range(-20, 21)}
    shifts = []
    for X in (a, b):
        for x in X:
            shifts.append(next(d for d, ref in fwd.items() if torch.equal(x, ref)))
    assert shifts[:32] != shifts[32:]  # the two workers draw different shifts


# ---- shifts of in-memory sequences -----------------------------------------------------------------


def _naive_shift(seq: str, s: int) -> str:
    """The sequence moved by ``s`` (right when positive), N where nothing comes in."""
    n = len(seq)
    return "".join(seq[i - s] if 0 <= i - s < n else "N" for i in range(n))


def test_shift_pad_matches_a_naive_loop(rng):
    from genodeep.data.augment import shift_pad

    seqs = ["".join(rng.choice(list("ACGT"), 15)) for _ in range(5)]
    shifts = np.array([0, 3, -4, 14, -1])
    X = one_hot(seqs).float()
    got = shift_pad(X, shifts)
    for i, (s, k) in enumerate(zip(seqs, shifts)):
        assert torch.equal(got[i], one_hot(_naive_shift(s, int(k))).float()), (s, k)
    assert torch.equal(X, one_hot(seqs).float())  # the input is not changed


def test_sequence_dataset_max_shift_moves_and_pads_with_n(rng):
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(64)]
    X = one_hot(seqs).to(torch.int8)
    ds = SequenceDataset(X, np.arange(64, dtype=np.float32), max_shift=3, random_state=0)
    assert "max_shift=3" in repr(ds)
    seen = set()
    for _ in range(3):
        Xb, yb = ds.get_batch(np.arange(64))
        assert yb[:, 0].tolist() == list(range(64))  # labels stay with their rows
        for i in range(64):
            match = [
                s
                for s in range(-3, 4)
                if torch.equal(Xb[i], one_hot(_naive_shift(seqs[i], s)).float())
            ]
            assert match, i
            seen.add(match[0])
    assert seen == set(range(-3, 4))  # every offset in [-3, 3] is drawn
    # with rc_augment: a shifted sequence or the reverse complement of one
    both = SequenceDataset(X, max_shift=2, rc_augment=True, random_state=1)
    Xb, _ = both.get_batch(np.arange(64))
    n_rc = 0
    for i in range(64):
        fwd = [one_hot(_naive_shift(seqs[i], s)).float() for s in range(-2, 3)]
        if any(torch.equal(Xb[i], f) for f in fwd):
            continue
        assert any(torch.equal(Xb[i], reverse_complement(f)) for f in fwd), i
        n_rc += 1
    assert 10 < n_rc < 54
    # reproducible under random_state
    a = SequenceDataset(X, max_shift=3, random_state=5).get_batch(np.arange(64))[0]
    b = SequenceDataset(X, max_shift=3, random_state=5).get_batch(np.arange(64))[0]
    assert torch.equal(a, b)


def test_sequence_dataset_max_shift_errors(rng):
    X = one_hot(["ACGTACGTAC", "ACGTACGTAA"])
    with pytest.raises(ValueError, match="smaller than the sequence length 10"):
        SequenceDataset(X, max_shift=10)
    with pytest.raises(ValueError, match="max_shift"):
        SequenceDataset(X, max_shift=-1)
    with pytest.raises(ValueError, match=r"profile targets .* Fix: max_shift=0"):
        SequenceDataset(X, np.zeros((2, 1, 10), dtype=np.float32), max_shift=2)
