"""fit / GenodeepTask: learning, resume-after-kill, early stopping, DDP, unsupervised and alternating models."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from genodeep.train import GenodeepTask, evaluate_predictions, fit, predict_dataset

LENGTH = 24


class TinyCNN(nn.Module):
    """Conv -> ReLU -> global max -> dropout -> linear; enough for a planted-motif task."""

    def __init__(self, n_tasks: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 16, 6)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(16, n_tasks)

    def forward(self, x):
        h = torch.relu(self.conv(x)).amax(-1)
        return self.out(self.drop(h))


def motif_data(n: int, seed: int = 0):
    """Random one-hot sequences; positives (half) carry GATAAG at a random position."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, LENGTH), generator=g)
    y = torch.zeros(n, 1)
    motif = torch.tensor([2, 0, 3, 0, 0, 2])
    for i in range(0, n, 2):
        start = int(torch.randint(0, LENGTH - 6, (1,), generator=g))
        codes[i, start : start + 6] = motif
        y[i] = 1.0
    X = (
        torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).to(torch.int8)
    )  # int8 storage is fine
    return X, y


@pytest.mark.slow
def test_learns_a_separable_problem_and_predicts(tmp_path):
    X, y = motif_data(360)
    res = fit(
        TinyCNN(), (X[:240], y[:240]), (X[240:300], y[240:300]),
        max_epochs=6, lr=0.05, batch_size=32, out_dir=tmp_path, verbose=False,
    )  # fmt: skip
    y_true, y_prob = predict_dataset(
        res.model, (X[300:], y[300:]), activation="sigmoid", device="cpu"
    )
    assert roc_auc_score(y_true.numpy().ravel(), y_prob.numpy().ravel()) > 0.95
    table = evaluate_predictions(y_true, y_prob)
    assert table.loc["mean", "auroc"] > 0.95
    # history has one row per epoch with the validation metrics; files are in out_dir
    h = res.history
    assert list(h["epoch"]) == list(range(len(h)))
    assert {"train_loss", "valid_loss", "valid_auroc", "valid_auprc", "lr"} <= set(h.columns)
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert (
        res.best_checkpoint == tmp_path / "best.ckpt"
        and res.last_checkpoint == tmp_path / "last.ckpt"
    )
    assert (tmp_path / "history.tsv").exists() and list(
        (tmp_path / "logs").glob("version_*/metrics.csv")
    )
    # the best checkpoint loads with weights_only and holds the best epoch's weights
    state = torch.load(res.best_checkpoint, map_location="cpu", weights_only=True)
    assert state["hyper_parameters"]["lr"] == 0.05 and state["hyper_parameters"]["loss"] == "bce"
    assert res.best_epoch == int(h.loc[h["valid_loss"].idxmin(), "epoch"])
    assert res.best_score == pytest.approx(h["valid_loss"].min())
    for k, v in res.model.state_dict().items():
        torch.testing.assert_close(v, state["state_dict"][f"model.{k}"])
    # predict_dataset over a generic Dataset (per-example items) gives the same as the tensor path
    ds = torch.utils.data.TensorDataset(X[300:], y[300:])
    items = [ds[i] for i in range(len(ds))]
    _, again = predict_dataset(
        res.model, _ListDataset(items), batch_size=7, device="cpu", activation="sigmoid"
    )
    torch.testing.assert_close(again, y_prob)
    with torch.no_grad():
        torch.testing.assert_close(y_prob, torch.sigmoid(res.model(X[300:].float())))


class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class _KillMidEpoch(L.Callback):
    """Simulates a killed job: raises in the middle of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == 2:
            raise RuntimeError("simulated kill")


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    X, y = motif_data(160, seed=1)
    data = dict(train_data=(X[:128], y[:128]), valid_data=(X[128:], y[128:]))
    kw = dict(
        max_epochs=4, lr=0.01, batch_size=16, early_stopping=None, scheduler="cosine", verbose=False
    )

    torch.manual_seed(3)
    full = fit(TinyCNN(dropout=0.3), out_dir=tmp_path / "a", **data, **kw)

    torch.manual_seed(3)
    with pytest.raises(RuntimeError, match="simulated kill"):
        fit(
            TinyCNN(dropout=0.3), out_dir=tmp_path / "b", callbacks=[_KillMidEpoch(2)], **data, **kw
        )
    saved = torch.load(tmp_path / "b" / "last.ckpt", weights_only=True)
    assert saved["epoch"] == 1  # two epochs done when the job died
    torch.manual_seed(99)  # a different fresh model: its weights are replaced by the checkpoint's
    resumed = fit(TinyCNN(dropout=0.3), out_dir=tmp_path / "b", resume=True, **data, **kw)

    a = torch.load(tmp_path / "a" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "last.ckpt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    for k, v in full.model.state_dict().items():
        assert torch.allclose(v, resumed.model.state_dict()[k], atol=1e-6)
    # the whole history survives the resume
    assert list(resumed.history["epoch"]) == [0, 1, 2, 3]
    np.testing.assert_allclose(resumed.history["train_loss"], full.history["train_loss"], rtol=1e-6)
    np.testing.assert_allclose(
        resumed.history["valid_auroc"], full.history["valid_auroc"], rtol=1e-6
    )


class _Plateau(nn.Module):
    """Output does not depend on its parameter (zero gradient): the validation loss is flat."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x.new_zeros(x.shape[0], 1) + 0.0 * self.w


def test_early_stopping_stops_on_a_plateau(tmp_path):
    X, y = motif_data(64)
    res = fit(
        _Plateau(), (X, y), (X, y), max_epochs=30, patience=2, out_dir=tmp_path, verbose=False
    )
    # epoch 0 sets the best; epochs 1 and 2 do not improve -> stop after 3 epochs
    assert list(res.history["epoch"]) == [0, 1, 2]
    np.testing.assert_allclose(res.history["valid_loss"], math.log(2.0), rtol=1e-6)
    # with early stopping off, all epochs run
    res = fit(
        _Plateau(),
        (X, y),
        (X, y),
        max_epochs=4,
        early_stopping=None,
        out_dir=tmp_path / "x",
        verbose=False,
    )
    assert len(res.history) == 4


def test_early_stopping_on_a_metric_and_argument_errors(tmp_path):
    X, y = motif_data(64)
    res = fit(TinyCNN(), (X, y), (X, y), max_epochs=2, early_stopping="auroc", verbose=False)
    assert (
        res.monitor == "valid_auroc" and res.best_checkpoint is None
    )  # no out_dir: temporary files
    assert res.best_score == pytest.approx(res.history["valid_auroc"].max())
    with pytest.raises(ValueError, match="early_stopping='auc'"):
        fit(TinyCNN(), (X, y), (X, y), early_stopping="auc", verbose=False)
    with pytest.raises(ValueError, match="needs valid_data"):
        fit(TinyCNN(), (X, y), early_stopping="valid_auroc", verbose=False)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        fit(TinyCNN(), (X, y), resume=True, verbose=False)
    with pytest.raises(ValueError, match="optimizer='lbfgs'"):
        fit(TinyCNN(), (X, y), optimizer="lbfgs", verbose=False)
    with pytest.raises(ValueError, match="first dimension"):
        fit(TinyCNN(), (X, y[:10]), verbose=False)
    with pytest.raises(ValueError, match="loss='hinge'"):
        GenodeepTask(TinyCNN(), loss="hinge")


def test_masked_batches_and_no_validation(tmp_path):
    X, y = motif_data(64)
    y2 = torch.cat([y, 1 - y], 1)
    mask = torch.ones_like(y2, dtype=torch.bool)
    mask[:, 1] = False  # the second task is never seen: its head must not move
    model = TinyCNN(n_tasks=2)
    before = model.out.weight[1].detach().clone(), model.out.bias[1].detach().clone()
    res = fit(model, (X, y2, mask), max_epochs=2, lr=0.05, optimizer="sgd", verbose=False)
    assert res.monitor == "train_loss" and "valid_loss" not in res.history
    assert torch.equal(res.model.out.weight[1], before[0]) and torch.equal(
        res.model.out.bias[1], before[1]
    )


class _CountAE(nn.Module):
    """Minimal model with its own objective: ``loss(batch)`` on dict batches."""

    def __init__(self, g: int = 6) -> None:
        super().__init__()
        self.enc = nn.Linear(g, 2)
        self.dec = nn.Linear(2, g)

    def loss(self, batch):
        x = batch["x"]
        rec = self.dec(self.enc(x))
        mse = ((rec - x) ** 2).mean()
        return {"loss": mse, "mse": mse.detach(), "vector": rec.detach()}  # non-scalars are ignored


class _DictDataset(torch.utils.data.Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i]}


def test_models_with_their_own_loss_train_on_dict_batches():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(96, 2, generator=g)
    x = z @ torch.randn(2, 6, generator=g)
    res = fit(
        _CountAE(),
        _DictDataset(x[:64]),
        _DictDataset(x[64:]),
        loss=None,
        max_epochs=6,
        lr=0.03,
        batch_size=8,
        verbose=False,
    )
    h = res.history
    assert {"train_loss", "train_mse", "valid_loss", "valid_mse"} <= set(h.columns)
    assert "valid_auroc" not in h
    assert h["valid_loss"].iloc[-1] < 0.5 * h["valid_loss"].iloc[0]
    np.testing.assert_allclose(h["train_loss"], h["train_mse"], rtol=1e-6)
    with pytest.raises(ValueError, match="loss=None needs a model with a loss"):
        GenodeepTask(TinyCNN(), loss=None)


class _TwoPlayer(nn.Module):
    """Alternating objectives: step "a" moves a to 1; step "b" minimises (b+2)^2 + a*b over b only."""

    loss_steps = ("a", "b")

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.0))
        self.b = nn.Parameter(torch.tensor(0.0))

    def parameters_for(self, step):
        return [self.a] if step == "a" else [self.b]

    def loss(self, batch, step=None):
        if step == "a":
            return (self.a - 1) ** 2
        return (self.b + 2) ** 2 + self.a * self.b  # its gradient w.r.t. a must not move a


def test_alternating_loss_steps_update_only_their_parameters(tmp_path):
    data = (torch.zeros(64, 1),)
    res = fit(
        _TwoPlayer(), data, loss=None, max_epochs=4, batch_size=1, lr=0.05, optimizer="sgd",
        early_stopping=None, out_dir=tmp_path, verbose=False,
    )  # fmt: skip
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)[
        "state_dict"
    ]  # (best = lowest train_loss)
    assert last["model.a"].item() == pytest.approx(1.0, abs=1e-4)
    assert last["model.b"].item() == pytest.approx(
        -2.5, abs=1e-4
    )  # argmin_b (b+2)^2 + 1*b, a untouched
    assert {"train_loss_a", "train_loss_b"} <= set(res.history.columns)


class DDPNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4 * LENGTH, 1)

    def forward(self, x):
        return self.lin(x.flatten(1))


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path):
    # "ddp_fork": two CPU processes forked from this one, gloo backend. ("ddp_spawn" also works but
    # re-imports torch and Lightning in each child, ~50 s on two shared cores; plain "ddp" re-runs
    # the command line, i.e. pytest.)
    X, y = motif_data(64)
    res = fit(
        DDPNet(), (X, y), (X, y), max_epochs=1, batch_size=16, accelerator="cpu", devices=2,
        strategy="ddp_fork", out_dir=tmp_path, verbose=False,
    )  # fmt: skip
    row = res.history.iloc[0]
    assert (
        len(res.history) == 1
        and math.isfinite(row["train_loss"])
        and math.isfinite(row["valid_loss"])
    )
    assert (tmp_path / "last.ckpt").exists()
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert (
        ckpt["global_step"] == 2
    )  # 64 examples split over 2 processes, batches of 16: 2 steps each
    state = ckpt["state_dict"]
    # the main process gets the trained weights back
    torch.testing.assert_close(res.model.lin.weight, state["model.lin.weight"])


class _ProfileNet(nn.Module):
    """BPNet-shaped outputs: profile logits (N, T, L) and log counts (N, T)."""

    def __init__(self, n_tasks: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, n_tasks, 5, padding=2)
        self.count = nn.Linear(4 * LENGTH, n_tasks)

    def forward(self, x):
        return self.conv(x), self.count(x.flatten(1))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loss", "optimizer", "scheduler", "expected"),
    [
        ("mse", "rmsprop", "plateau", "valid_pearson"),
        ("poisson", "adamw", "cosine", "valid_spearman"),
        ("bpnet", "adam", None, "valid_pearson"),
        ("multinomial", "sgd", None, None),
    ],
)
def test_each_loss_optimizer_and_schedule_trains(loss, optimizer, scheduler, expected):
    g = torch.Generator().manual_seed(0)
    X = (
        torch.nn.functional.one_hot(torch.randint(0, 4, (48, LENGTH), generator=g), 4)
        .permute(0, 2, 1)
        .float()
    )
    if loss in ("bpnet", "multinomial"):
        model, y = _ProfileNet(), torch.poisson(torch.full((48, 2, LENGTH), 2.0), generator=g)
        if loss == "multinomial":
            model = nn.Sequential(nn.Conv1d(4, 2, 5, padding=2))
    else:
        model, y = TinyCNN(n_tasks=2), torch.poisson(torch.full((48, 2), 3.0), generator=g)
    res = fit(
        model, (X[:32], y[:32]), (X[32:], y[32:]), loss=loss, optimizer=optimizer, scheduler=scheduler,
        max_epochs=2, batch_size=16, lr=1e-3, verbose=False,
    )  # fmt: skip
    h = res.history
    assert len(h) == 2 and np.isfinite(h[["train_loss", "valid_loss"]].to_numpy()).all()
    if expected is None:
        assert not [c for c in h.columns if c.startswith("valid_") and c != "valid_loss"]
    else:
        assert expected in h
    if scheduler == "cosine":
        assert h["lr"].iloc[0] == pytest.approx(1e-3)  # the rate used during each epoch
        assert h["lr"].iloc[1] < 1e-3  # annealed after the first


def test_a_run_that_never_improves_says_so(tmp_path):
    """Random labels: the validation loss is best at epoch 0 and training stops with a warning."""
    g = torch.Generator().manual_seed(0)
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (64, 20), generator=g), 4).permute(0, 2, 1)
    y = torch.randint(0, 2, (64, 1), generator=g).float()
    model = TinyCNN()
    with pytest.warns(UserWarning, match="never improved after epoch 0"):
        fit(model, (X.float(), y), (X.float(), 1 - y), max_epochs=6, patience=2, lr=0.05,
            verbose=False)  # fmt: skip


class Diverging(TinyCNN):
    """Outputs that overflow after the first step: what an exp activation with a high rate can do."""

    def forward(self, x):
        return super().forward(x) * torch.tensor(float("inf"))


def test_a_diverged_run_stops_with_what_to_change(tmp_path):
    X, y = motif_data(64)
    with pytest.raises(FloatingPointError, match=r"diverged in epoch 0 of Diverging.*training\.lr"):
        fit(
            Diverging(), (X[:48], y[:48]), (X[48:], y[48:]),
            max_epochs=3, lr=0.01, batch_size=16, out_dir=tmp_path, verbose=False,
        )  # fmt: skip
