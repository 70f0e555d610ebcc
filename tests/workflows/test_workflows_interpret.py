"""genodeep.workflows.interpret: the ISM heatmaps of a non-ISM run cover the plotted window only.

A long input (SpliceAI reads 10,101 bases) made the plotting step run a full ISM, 3 L forward passes
of the whole model, which ran out of memory; only the plotted window is needed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genodeep.interpret.ism import saturation_mutagenesis
from genodeep.workflows import interpret as wi


class _Counting(nn.Module):
    """Input (N, 4, L) -> (N, 2): a convolution and a mean; counts the sequences it reads (in the
    class, as ISM runs a deep copy)."""

    rows = 0

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 2, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        type(self).rows += x.shape[0]
        return torch.tanh(self.conv(x)).mean(-1)


def _fasta(path, length, seed=0):
    rng = np.random.default_rng(seed)
    path.write_text(">s1\n" + "".join(rng.choice(list("ACGT"), size=length)) + "\n")
    return path


def test_plotted_ism_of_a_long_input_reads_only_the_window(tmp_path):
    model = _Counting().eval()
    _Counting.rows = 0
    length, window = 3000, 20
    fa = _fasta(tmp_path / "long.fa", length)
    wi.interpret_to_files(
        model, fa, tmp_path / "out", method="saliency", top=1, window=window, device="cpu"
    )
    # saliency and the prediction read the sequence a few times; the ISM of the plot 3 per position
    # of the window (a full ISM would be 3 * 3000 = 9000 sequences)
    assert _Counting.rows <= 3 * window + 10
    assert (tmp_path / "out" / "plots" / "01_s1.ism.png").exists()


def test_window_ism_equals_the_full_ism_inside_the_window(tmp_path):
    model = _Counting().eval()
    rng = np.random.default_rng(1)
    x = torch.from_numpy(np.eye(4, dtype="f4")[rng.integers(0, 4, 300)].T.copy())
    full = saturation_mutagenesis(model, x[None], target=1, fast=False, device="cpu")[0]
    got = wi._window_ism(model, x, 100, 130, 1, None, "cpu", None)
    torch.testing.assert_close(got[:, 100:130], full[:, 100:130], atol=1e-6, rtol=1e-5)
    assert (got[:, :100] == 0).all() and (got[:, 130:] == 0).all()
    assert not model.training
