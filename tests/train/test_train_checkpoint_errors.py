"""A cut or damaged checkpoint is a file/fix error, not a raw torch/zip traceback (issue 14.5)."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from genodeep import InputFileError
from genodeep.train import fit


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 4, 3)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(torch.relu(self.conv(x)).amax(-1))


def _data(n: int = 32, length: int = 12):
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 4, (n, length), generator=g)
    X = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()
    return X, (torch.arange(n) % 2).float()[:, None]


def test_resume_from_truncated_last_ckpt_names_file_and_fix(tmp_path):
    X, y = _data()
    kw = dict(max_epochs=1, batch_size=16, early_stopping=None, verbose=False, out_dir=tmp_path)
    fit(_Tiny(), (X, y), **kw)
    last = tmp_path / "last.ckpt"
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])  # a run killed while writing its checkpoint
    with pytest.raises(InputFileError) as err:
        fit(_Tiny(), (X, y), resume=True, **{**kw, "max_epochs": 2})
    msg = str(err.value)
    assert str(last) in msg and "cannot read the checkpoint" in msg
    assert "delete it and start without --resume" in msg


def test_damaged_best_ckpt_names_file(tmp_path):
    fit_mod = importlib.import_module("genodeep.train.fit")

    path = tmp_path / "best.ckpt"
    path.write_bytes(b"PK\x03\x04 not a real checkpoint")
    with pytest.raises(InputFileError, match="best.ckpt.*cannot read the checkpoint.*delete it"):
        fit_mod.read_checkpoint(path)


def test_transfer_from_damaged_checkpoint_names_file(tmp_path):
    from genodeep.train.transfer import load_pretrained

    path = tmp_path / "weights.pt"
    path.write_bytes(b"\x80\x02 cut")
    with pytest.raises(InputFileError, match="weights.pt.*cannot read the checkpoint"):
        load_pretrained(_Tiny(), checkpoint=path)
