"""Data sources: FASTA + labels (one file or a list), and augmentation for every sequence kind."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep import InputFileError
from genodeep.data import SequenceDataset
from genodeep.data.sources import build_data, load_fasta_data, load_simulated_data


def _fasta(path, names, seqs, gz=False):
    text = "".join(f">{n} some description\n{s}\n" for n, s in zip(names, seqs))
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path, rng):
    seqs = ["".join(rng.choice(list("ACGT"), 24)) for _ in range(60)]
    names = [f"r{i}" for i in range(60)]
    y = np.stack([(rng.random(60) < 0.5) * 1.0, rng.random(60) < 0.3], axis=1).astype(np.float32)
    y[5, 1] = np.nan
    a = _fasta(tmp_path / "a.fa", names[:25], seqs[:25])
    b = _fasta(tmp_path / "b.fa.gz", names[25:45], seqs[25:45], gz=True)
    c = _fasta(tmp_path / "c.fa", names[45:], seqs[45:])
    table = pd.DataFrame({"name": names, "open": y[:, 0], "bound": y[:, 1]})
    table.sample(frac=1, random_state=1).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False, na_rep="NA"
    )
    return {"a": a, "b": b, "c": c, "labels": tmp_path / "labels.tsv", "seqs": seqs, "y": y}


def test_fasta_list_is_read_in_order_and_concatenated(files):
    from genodeep.seq import one_hot

    d = load_fasta_data(
        [files["a"], files["b"]],
        labels=files["labels"],
        test_fasta=files["c"],  # test_labels default to labels
        valid_fraction=0.2,
        random_state=0,
    )
    assert d.task_names == ["open", "bound"] and d.kind == "binary" and d.input_length == 24
    assert len(d.train) + len(d.valid) == 45 and len(d.valid) == 9
    assert d.test.ids["name"].tolist() == [f"r{i}" for i in range(45, 60)]
    np.testing.assert_array_equal(d.test.y, files["y"][45:])
    names = pd.concat([d.train.ids, d.valid.ids])["name"].tolist()
    assert sorted(names, key=lambda n: int(n[1:])) == [f"r{i}" for i in range(45)]
    X = torch.cat([d.train.X, d.valid.X])
    y = np.concatenate([d.train.y, d.valid.y])
    for row, name in enumerate(names):
        i = int(name[1:])
        assert torch.equal(X[row].float(), one_hot(files["seqs"][i]).float())
        np.testing.assert_array_equal(y[row], files["y"][i])
    # a list of one path is the path
    one = load_fasta_data([files["a"]], labels=files["labels"], random_state=0)
    same = load_fasta_data(files["a"], labels=files["labels"], random_state=0)
    assert one.train.ids.equals(same.train.ids)
    # valid/test lists too
    e = load_fasta_data(
        files["a"],
        labels=files["labels"],
        valid_fasta=[files["b"]],
        test_fasta=[files["c"], str(files["b"])],
    )
    assert len(e.train) == 25 and len(e.valid) == 20 and len(e.test) == 35


def test_fasta_list_errors_name_the_file(files, tmp_path):
    dup = _fasta(tmp_path / "dup.fa", ["r3"], [files["seqs"][3]])
    with pytest.raises(
        InputFileError, match=r"dup\.fa: record name 'r3' is also in .*a\.fa"
    ) as err:
        load_fasta_data([files["a"], dup], labels=files["labels"])
    assert "unique name across the files" in str(err.value)
    longer = _fasta(tmp_path / "long.fa", ["z1 label=1"], ["ACGT" * 7])
    short = _fasta(tmp_path / "h.fa", ["h1 label=0"], ["A" * 24])
    with pytest.raises(InputFileError, match=r"long\.fa.*28 bp.*h\.fa are 24 bp"):
        load_fasta_data([short, longer])
    two_tasks = _fasta(tmp_path / "t.fa", ["t1 labels=1,0"], ["A" * 24])
    with pytest.raises(InputFileError, match=r"t\.fa.*same label columns"):
        load_fasta_data([short, two_tasks])
    with pytest.raises(ValueError, match="empty list"):
        load_fasta_data([], labels=files["labels"])


def test_rc_augment_and_max_shift_for_fasta_and_simulate(files):
    d = load_fasta_data(
        [files["a"], files["b"]], labels=files["labels"], rc_augment=True, max_shift=2
    )
    ds = d.train.dataset
    assert isinstance(ds, SequenceDataset) and ds.rc_augment and ds.max_shift == 2
    assert d.train.as_fit_data() is ds and len(ds) == len(d.train)
    assert d.valid.dataset is None and d.test.dataset is None  # held-out rows are never augmented
    Xb, yb = ds.get_batch(np.arange(len(ds)))
    np.testing.assert_array_equal(yb.numpy(), d.train.y)
    assert Xb.shape == d.train.X.shape and (Xb.sum(1) <= 1).all()
    assert load_fasta_data(files["a"], labels=files["labels"]).train.dataset is None

    s = build_data(
        {
            "kind": "simulate",
            "simulate": "presence",
            "names": ["MA0529.3"],
            "n": 60,
            "length": 40,
            "rc_augment": True,
            "max_shift": 3,
        }  # fmt: skip
    )
    assert isinstance(s.train.dataset, SequenceDataset) and s.train.dataset.max_shift == 3
    plain = load_simulated_data(simulate="presence", names=["MA0529.3"], n=60, length=40)
    assert plain.train.dataset is None
    torch.testing.assert_close(s.train.X, plain.train.X)  # the data are the same, only augmented


def test_simulated_multimodal_rc_augment():
    from genodeep.data.sources import load_simulated_multimodal_data

    d = load_simulated_multimodal_data(n=40, length=60, rc_augment=True)
    assert d.train.dataset.rc_augment is True
    assert load_simulated_multimodal_data(n=40, length=60).train.dataset.rc_augment is False
