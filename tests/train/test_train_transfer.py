"""Transfer learning: heads, freezing, learning-rate groups, loading pretrained models."""

from __future__ import annotations

import pytest
import torch

from genodeep.models.cnn import Basset, DeepBind
from genodeep.models.dilated import BPNet
from genodeep.train.transfer import (
    freeze,
    frozen_parameters,
    load_pretrained,
    output_layers,
    param_groups,
    prepare_transfer,
    replace_head,
    unfreeze,
)


def _basset(n_tasks=4):
    return Basset(n_tasks=n_tasks, input_length=120, filters=[6, 5, 4], widths=[5, 3, 3],
                  pools=[2, 2, 2], dense=[8], dense_dropout=0.0)  # fmt: skip


def _batch(n=16, length=120, n_tasks=1):
    g = torch.Generator().manual_seed(3)
    idx = torch.randint(0, 4, (n, length), generator=g)
    X = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
    y = (torch.rand(n, n_tasks, generator=g) > 0.5).float()
    return X, y


def test_replace_head_keeps_the_trunk_and_updates_the_config():
    model = _basset(4)
    new = replace_head(model, 2)
    assert model.n_tasks == 4 and model.head[-1].out_features == 4  # the original is untouched
    assert new.n_tasks == 2 and new.config["n_tasks"] == 2 and new.head[-1].out_features == 2
    old_state, new_state = model.state_dict(), new.state_dict()
    head = {f"head.{len(model.head) - 1}.weight", f"head.{len(model.head) - 1}.bias"}
    for k, v in old_state.items():
        if k not in head:
            assert torch.equal(v, new_state[k]), k
    assert not torch.equal(
        old_state[next(iter(sorted(head)))][:2], new_state[next(iter(sorted(head)))]
    )
    # the new model rebuilds from its config (what a model package does)
    rebuilt = Basset(**new.config)
    rebuilt.load_state_dict(new_state)
    X, _ = _batch(3)
    torch.testing.assert_close(rebuilt.eval()(X), new.eval()(X))


def test_add_mode_keeps_the_old_outputs_and_zeros_init_predicts_half():
    model = _basset(3).eval()
    X, _ = _batch(5)
    grown = replace_head(model, 2, mode="add").eval()
    assert grown(X).shape == (5, 5)
    torch.testing.assert_close(grown(X)[:, :3], model(X))
    zero = replace_head(model, 1, init="zeros").eval()
    torch.testing.assert_close(torch.sigmoid(zero(X)), torch.full((5, 1), 0.5))


def test_output_layers_of_known_architectures():
    assert output_layers(DeepBind(n_tasks=8, hidden=8)) == ["head.3"]  # hidden size == n_tasks
    assert output_layers(BPNet(n_tasks=2)) == ["head.profile", "head.linear"]
    bp = replace_head(BPNet(n_tasks=2, filters=8, n_layers=2), 3)
    profile, counts = bp(_batch(2, 200)[0])
    assert profile.shape[1] == 3 and counts.shape == (2, 3)


def test_freeze_by_name_and_depth():
    model = _basset()
    names = freeze(model, "local")
    assert names and all(n.startswith("local.") for n in names)
    assert frozen_parameters(model) == names
    assert unfreeze(model, "local.*.bias") == [n for n in names if n.endswith("bias")]
    unfreeze(model)
    assert frozen_parameters(model) == []
    # depth counts parametrised layers: conv, BN, conv, BN, conv, BN, dense, dense
    assert freeze(model, depth=2) == [
        "local.0.weight",
        "local.0.bias",
        "local.1.weight",
        "local.1.bias",
    ]
    unfreeze(model)
    frozen = freeze(model, depth=-1)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["head.3.weight", "head.3.bias"] and len(frozen) == 14
    with pytest.raises(ValueError, match="matches no parameter.*layers are: head.1"):
        freeze(model, "trunk")
    with pytest.raises(ValueError, match="exceeds"):
        freeze(model, depth=99)


def test_frozen_parameters_and_batchnorm_statistics_do_not_change_in_a_training_step():
    model = replace_head(_basset(4), 1)
    freeze(model, "local")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(param_groups(model, 1e-2, 0.1))
    X, y = _batch()
    model.train()
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(X), y).backward()
        opt.step()
    after = model.state_dict()
    for k, v in before.items():
        if k.startswith("local."):  # weights and running statistics of the frozen trunk
            assert torch.equal(v, after[k]), k
    assert not torch.equal(before["head.3.weight"], after["head.3.weight"])
    assert not torch.equal(before["head.1.weight"], after["head.1.weight"])
    # unfreezing restores normal batch-norm training
    unfreeze(model)
    model.train()
    model(X)
    assert not torch.equal(
        before["local.1.running_mean"], model.state_dict()["local.1.running_mean"]
    )


def test_param_groups_scale_the_pretrained_learning_rate():
    model = replace_head(_basset(4), 1)
    freeze(model, depth=2)
    groups = param_groups(model, 1e-3, 0.1, weight_decay=0.01)
    assert [g["name"] for g in groups] == ["new", "pretrained"]
    assert groups[0]["lr"] == pytest.approx(1e-3) and groups[1]["lr"] == pytest.approx(1e-4)
    ids = {id(p) for g in groups for p in g["params"]}
    assert ids == {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for p in groups[0]["params"]} == {
        id(model.head[3].weight),
        id(model.head[3].bias),
    }
    custom = param_groups(model, 1e-3, 0.5, new=["head"])
    assert len(custom[0]["params"]) == 4 and custom[1]["lr"] == pytest.approx(5e-4)
    freeze(model)
    with pytest.raises(ValueError, match="no trainable parameters"):
        param_groups(model, 1e-3)


def test_load_pretrained_from_package_and_checkpoint(tmp_path):
    from genodeep.zoo.package import save_package

    model = _basset(4).eval()
    X, _ = _batch(3)
    path = save_package(model, tmp_path / "pkg")
    loaded = load_pretrained(path)
    torch.testing.assert_close(loaded(X), model(X))
    ckpt = tmp_path / "best.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}, ckpt)
    fresh = load_pretrained(_basset(4), checkpoint=ckpt)
    torch.testing.assert_close(fresh(X), model(X))
    ready = prepare_transfer(path, n_tasks=1, freeze_depth=-1, head_init="zeros")
    assert ready.training and ready.n_tasks == 1
    assert [n for n, p in ready.named_parameters() if p.requires_grad] == [
        "head.3.weight",
        "head.3.bias",
    ]
    with pytest.raises(ValueError, match="needs n_tasks"):
        prepare_transfer(path)


@pytest.mark.slow
def test_fine_tune_through_fit_leaves_frozen_layers_unchanged():
    from genodeep.train.transfer import TransferTask, fine_tune

    model = replace_head(_basset(4), 1)
    freeze(model, depth=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = _batch(32)
    result = fine_tune(model, (X, y), (X, y), lr=1e-2, pretrained_lr_scale=0.5, max_epochs=1,
                       batch_size=16, verbose=False)  # fmt: skip
    assert isinstance(result.task, TransferTask)
    lrs = sorted(g["lr"] for g in result.task.configure_optimizers().param_groups)
    assert lrs == pytest.approx([5e-3, 1e-2])
    after = result.model.state_dict()
    for k in ("local.0.weight", "local.0.bias", "local.1.weight", "local.1.running_mean"):
        assert torch.equal(before[k], after[k]), k
    for k in ("local.4.weight", "head.3.weight"):
        assert not torch.equal(before[k], after[k]), k
