"""Training-loop overhead of genodeep's trainer vs a bare PyTorch loop, and forward throughput vs batch size.

Target (issue 3, performance.md): training the Basset-like reference model (conv 300x19 -> pool 3 ->
conv 200x11 -> pool 4 -> conv 200x7 -> pool 4 -> 2 x dense 1000 -> 164 outputs; input 4x600) through
``genodeep.train.fit`` (Lightning + GenodeepTask) is at most 10 % slower than a bare PyTorch loop over
the same tensors: same model, same initial weights, batch 64, same number of steps, Adam, BCE with
logits, one shuffled epoch.

The target ``train_loop_overhead`` is the wall time of the training epoch inside ``fit`` (from the
first to the last training step's hooks, measured by a callback) / the bare loop's steps — the per-step
overhead of the trainer. Its details also give:

- ``fit_call_ratio``: the whole ``fit()`` call (Trainer start-up, the epoch, writing the best and last
  checkpoints and the history) / the bare loop with its set-up — what a user waits for; fixed costs
  dominate it for short runs;
- ``process_cpu_time_ratio``: the target's ratio in CPU seconds of this process, a check that stays
  meaningful when other jobs share the cores;
- forward throughput (sequences/s, eval mode, ``genodeep.predict``) for batch sizes 8..256 (the
  performance.md anchor on its reference CPU: 1,222 seq/s at batch 32 fp32).

Run: ``python benchmarks/bench_train.py`` (``GENODEEP_BENCH_QUICK=1`` for a smoke test).
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time

import lightning as L
import torch
from _common import compare, print_timings, result, size, write_results
from torch import nn

from genodeep._batching import predict
from genodeep.train import fit

STEPS = size(40, 3)
BATCH = size(64, 8)
LENGTH = 600
N_TASKS = 164
ROUNDS = size(5, 2)
FORWARD_N = size(512, 16)
FORWARD_BATCHES = (8, 16, 32, 64, 128, 256) if FORWARD_N >= 256 else (8, 16)


def _basset() -> nn.Module:
    try:
        from genodeep.models import build_model

        return build_model("basset", n_tasks=N_TASKS, input_length=LENGTH)
    except ImportError:  # models not available: the same architecture by hand
        return nn.Sequential(
            nn.Conv1d(4, 300, 19), nn.BatchNorm1d(300), nn.ReLU(), nn.MaxPool1d(3),
            nn.Conv1d(300, 200, 11), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4),
            nn.Conv1d(200, 200, 7), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4),
            nn.Flatten(), nn.Linear(2000, 1000), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(1000, 1000), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1000, N_TASKS),
        )  # fmt: skip


class _EpochTimer(L.Callback):
    """Seconds from the first training batch's start to the end of the last training batch."""

    def __init__(self) -> None:
        self.start = self.end = self.cpu_start = self.cpu_end = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 0:
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.end, self.cpu_end = time.perf_counter(), time.process_time()


def main() -> None:
    torch.manual_seed(0)
    n = STEPS * BATCH
    codes = torch.randint(0, 4, (n, LENGTH))
    X = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()  # (N, 4, L)
    y = (torch.rand(n, N_TASKS) < 0.2).float()
    template = _basset()
    init_state = copy.deepcopy(template.state_dict())

    def fresh() -> nn.Module:
        m = _basset()
        m.load_state_dict(init_state)
        return m

    loop_times: list[float] = []
    loop_cpu: list[float] = []

    def ours() -> None:
        timer = _EpochTimer()
        with tempfile.TemporaryDirectory() as tmp:
            fit(
                fresh(), (X, y), loss="bce", max_epochs=1, batch_size=BATCH, lr=1e-3,
                early_stopping=None, out_dir=tmp, verbose=False, callbacks=[timer],
                accelerator="cpu", devices=1,
            )  # fmt: skip
        loop_times.append(timer.end - timer.start)
        loop_cpu.append(timer.cpu_end - timer.cpu_start)

    bare_times: list[float] = []
    bare_cpu: list[float] = []

    def bare() -> None:
        model = fresh().train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        t0, c0 = time.perf_counter(), time.process_time()  # like the in-fit timer: the steps only
        g = torch.Generator().manual_seed(0)
        order = torch.randperm(n, generator=g)
        for idx in order.split(BATCH):
            xb, yb = X[idx], y[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        bare_times.append(time.perf_counter() - t0)
        bare_cpu.append(time.process_time() - c0)

    timing = compare(f"train 1 epoch, {STEPS} steps of batch {BATCH}", ours, bare, rounds=ROUNDS)
    # warm-up rounds are included in the lists: drop them
    for lst in (loop_times, bare_times, loop_cpu, bare_cpu):
        lst[:] = lst[-ROUNDS:]
    # CPU time of this process: robust when other jobs share the cores (wall time is the target)
    cpu_ratio = statistics.median(loop_cpu) / statistics.median(bare_cpu)
    loop_ratio = sorted(loop_times)[len(loop_times) // 2] / sorted(bare_times)[len(bare_times) // 2]
    call_ratio = timing["ours"]["median"] / timing["peer"]["median"]
    print_timings([timing])
    print(
        f"  in-loop epoch: genodeep median {sorted(loop_times)[len(loop_times) // 2]:.3f} s, "
        f"bare {sorted(bare_times)[len(bare_times) // 2]:.3f} s; process CPU time ratio {cpu_ratio:.3f}"
    )
    bare_rate = n / sorted(bare_times)[len(bare_times) // 2]

    # forward throughput vs batch size
    model = fresh().eval()
    Xf = X[:FORWARD_N] if FORWARD_N <= n else X.repeat((FORWARD_N + n - 1) // n, 1, 1)[:FORWARD_N]
    throughput = {}
    with torch.inference_mode():
        for b in FORWARD_BATCHES:
            t = compare(
                f"forward batch {b}",
                lambda b=b: predict(model, Xf, batch_size=b, device="cpu"),
                None,
                rounds=ROUNDS,
            )
            throughput[b] = FORWARD_N / t["ours"]["median"]
    print("\nforward throughput (eval, fp32):")
    for b, r in throughput.items():
        print(f"  batch {b:>4}: {r:8.1f} seq/s")

    results = {
        "train_loop_overhead": result(
            loop_ratio,
            1.10,
            "x bare-loop time",
            higher_is_better=False,
            peer="bare PyTorch loop (same model, weights, batches, Adam, BCE with logits)",
            fit_call_ratio=round(call_ratio, 4),
            process_cpu_time_ratio=round(cpu_ratio, 4),
            bare_train_seq_per_s=round(bare_rate, 1),
            forward_seq_per_s_by_batch_size={str(k): round(v, 1) for k, v in throughput.items()},
            steps=STEPS,
            batch_size=BATCH,
        ),
    }
    write_results("train", results)


if __name__ == "__main__":
    main()
