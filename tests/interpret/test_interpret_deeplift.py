"""DeepLIFT/SHAP: completeness on every architecture, agreement with captum and tangermeme."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genodeep.interpret import deep_lift_shap
from genodeep.interpret.deeplift import _Explainer
from genodeep.models import DeepBind, build_model
from genodeep.nn import Exp
from genodeep.seq import dinucleotide_shuffle
from toy_models import (
    random_onehot,
    randomize_batchnorm,
    tiny_cnn,
    tiny_danq,
    tiny_deepbind,
    tiny_deepsea,
    tiny_dilated,
)

DeepLiftShap = pytest.importorskip("captum.attr").DeepLiftShap
pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")


def _hypothetical(multipliers, X, references):
    """TF-MoDISco's projection (tangermeme/DeepSHAP form), written independently: captum callback."""
    m, r = multipliers[0], references[0]
    proj = torch.stack([(m * (torch.eye(4)[c][:, None] - r)).sum(1) for c in range(4)], dim=1)
    return (proj,)


def _zoo() -> dict[str, nn.Module]:
    torch.manual_seed(5)
    mixed = (
        nn.Sequential(  # every rule: rescale on many activations, overlapping/padded/adaptive pools
            nn.Conv1d(4, 6, 5, padding=2),
            nn.BatchNorm1d(6),
            nn.ELU(),
            nn.MaxPool1d(4, stride=2),
            nn.Conv1d(6, 6, 3, padding=1),
            nn.GELU(),
            nn.MaxPool1d(3, stride=2, padding=1),
            nn.Conv1d(6, 5, 3),
            nn.Sigmoid(),
            nn.Dropout(0.1),
            nn.Conv1d(5, 5, 1),
            nn.Softplus(),
            nn.AdaptiveMaxPool1d(2),
            nn.Flatten(),
            nn.Linear(10, 6),
            nn.Tanh(),
            nn.Linear(6, 3),
            Exp(),
        )
    )
    return {
        "basset": tiny_cnn(40, 3),
        "deepsea": tiny_deepsea(40, 2),
        "deepbind_max": tiny_deepbind(2),
        "deepbind_max+avg": DeepBind(
            n_tasks=2, filters=4, width=6, pool="max+avg", hidden=8
        ).eval(),
        "bpnet": tiny_dilated(2),
        "bpnet_global": tiny_dilated(2, heads="global"),
        "bpnet_global_max": tiny_dilated(2, heads="global", pool="max"),
        "mlp": build_model("mlp", n_tasks=2, input_length=40).eval(),
        "mixed": randomize_batchnorm(mixed).eval(),
    }


@pytest.mark.parametrize("name", list(_zoo()))
def test_completeness_for_every_reference(name):
    model = _zoo()[name]
    X = random_onehot(3, 40, seed=1)
    refs = dinucleotide_shuffle(X, n=4, random_state=2).float()
    ex = _Explainer(model, torch.device("cpu"))
    mult, y_x, y_r = ex.multipliers(X, refs, None)
    contrib = ((X[:, None] - refs) * mult).sum((2, 3))
    diff = y_x[:, None] - y_r
    assert diff.abs().max() > 1e-4  # not vacuous
    assert torch.allclose(contrib, diff, atol=1e-4 * max(1.0, diff.abs().max().item()), rtol=0)
    # the public function: contributions of a sequence sum to its mean output difference
    attr = deep_lift_shap(model, X, references=refs, device="cpu")
    assert torch.allclose(
        attr.sum((1, 2)), diff.mean(1), atol=1e-4 * max(1.0, diff.abs().max().item())
    )


def test_matches_captum_on_relu_cnn_without_maxpool():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv1d(4, 8, 5, padding=2),
        nn.ReLU(),
        nn.Conv1d(8, 6, 3),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.Flatten(),
        nn.Linear(6 * 14, 4),
        nn.ReLU(),
        nn.Linear(4, 2),
    ).eval()
    X = random_onehot(3, 30, seed=3)
    refs = dinucleotide_shuffle(X, n=5, random_state=4).float()
    hyp = deep_lift_shap(model, X, target=1, references=refs, hypothetical=True, device="cpu")
    ours = deep_lift_shap(model, X, target=1, references=refs, device="cpu")
    ref = torch.cat(
        [
            DeepLiftShap(model).attribute(
                X[i : i + 1], refs[i], target=1, custom_attribution_func=_hypothetical
            )
            for i in range(3)
        ]
    )
    assert torch.allclose(hyp, ref, atol=1e-4 * ref.abs().max().item())
    assert torch.allclose(ours, ref * X, atol=1e-4 * ref.abs().max().item())
    assert ours.abs().max() > 1e-4


@pytest.mark.parametrize("name", ["basset", "bpnet"])
def test_matches_tangermeme(name):
    tangermeme_dls = pytest.importorskip("tangermeme.deep_lift_shap").deep_lift_shap

    model = tiny_cnn(40, 3) if name == "basset" else tiny_dilated(2, heads="global")
    X = random_onehot(2, 40, seed=5)
    refs = dinucleotide_shuffle(X, n=4, random_state=6).float()
    ours = deep_lift_shap(model, X, target=1, references=refs, device="cpu")
    theirs = tangermeme_dls(model, X, target=1, references=refs, device="cpu")
    assert torch.allclose(ours, theirs, atol=1e-4 * theirs.abs().max().item())


def test_shuffled_references_are_seeded_and_batching_invariant():
    model = tiny_cnn(40, 2)
    X = random_onehot(5, 40, seed=7)
    a = deep_lift_shap(model, X, target=0, n_shuffles=6, random_state=1, batch_size=4, device="cpu")
    b = deep_lift_shap(
        model, X, target=0, n_shuffles=6, random_state=1, batch_size=64, device="cpu"
    )
    c = deep_lift_shap(model, X, target=0, n_shuffles=6, random_state=2, device="cpu")
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, c)
    hyp = deep_lift_shap(
        model, X, target=0, n_shuffles=6, random_state=1, hypothetical=True, device="cpu"
    )
    assert torch.allclose(hyp * X, a, atol=1e-7)


def test_users_model_is_untouched():
    model = tiny_cnn(40, 2).train()
    state = copy.deepcopy(model.state_dict())
    modules = list(model.modules())
    deep_lift_shap(model, random_onehot(2, 40), n_shuffles=3, device="cpu")
    assert model.training
    assert list(model.modules()) == modules
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_recurrent_models_raise():
    with pytest.raises(TypeError, match="recurrent"):
        deep_lift_shap(tiny_danq(40, 2), random_onehot(1, 40), n_shuffles=2, device="cpu")


class _FunctionalReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv1d(4, 6, 5)
        self.linear = nn.Linear(6, 1)

    def forward(self, x):
        return self.linear(F.relu(self.conv(x)).mean(-1))


def test_functional_nonlinearity_is_reported():
    X = random_onehot(2, 30, seed=8)
    with pytest.warns(RuntimeWarning, match=r"_FunctionalReLU.forward calls F\.relu"):
        deep_lift_shap(_FunctionalReLU().eval(), X, n_shuffles=3, random_state=0, device="cpu")


def test_bad_references():
    model = tiny_cnn(40, 2)
    X = random_onehot(2, 40)
    with pytest.raises(ValueError, match="references had shape"):
        deep_lift_shap(model, X, references=torch.zeros(2, 3, 4, 39), device="cpu")
    with pytest.raises(ValueError, match="references="):
        deep_lift_shap(model, X, references="zeros", device="cpu")
    one = deep_lift_shap(model, X[0], references=X[:1].roll(5, -1), device="cpu")
    assert one.shape == (4, 40)
