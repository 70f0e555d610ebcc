"""Data for training: any of the inputs ``fit`` accepts as a Dataset, and DataLoaders whose shuffling is
reproducible per epoch and resumes mid-run (the sampler's order depends only on the seed and the epoch)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset


def as_dataset(data: Any, name: str = "data") -> Dataset:
    """A torch ``Dataset`` from a Dataset, or from a tuple ``(X, y[, mask])`` of tensors/arrays.

    Parameters
    ----------
    data : Dataset or tuple of array-like
        Tuple items must share their first dimension ``N``.
    name : str
        Argument name for error messages.

    Returns
    -------
    dataset : torch.utils.data.Dataset
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and 1 <= len(data) <= 3:
        tensors = []
        for i, a in enumerate(data):
            if isinstance(a, Tensor):
                t = a
            elif isinstance(a, np.ndarray):
                t = torch.from_numpy(np.ascontiguousarray(a))
            else:
                raise TypeError(
                    f"{name}[{i}] must be a tensor or numpy array, got {type(a).__name__}"
                )
            tensors.append(t)
        n = {int(t.shape[0]) if t.ndim else -1 for t in tensors}
        if len(n) != 1 or -1 in n:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(
                f"{name} tensors must share their first dimension N; got shapes {shapes}"
            )
        if next(iter(n)) == 0:
            raise ValueError(f"{name} is empty (0 rows)")
        return TensorDataset(*tensors)
    raise TypeError(
        f"{name} must be a torch Dataset or a tuple (X, y) / (X, y, mask) of tensors; got {type(data).__name__}"
    )


class _EpochBatchSampler(Sampler):
    """Yields index tensors of whole batches, shuffled by a permutation seeded with (seed, epoch).

    Lightning calls ``set_epoch`` before each epoch; ``state_dict`` (saved in checkpoints through the
    loader) records the epoch to start from, so the first epoch after a resume has the right order.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool,
        seed: int,
        generator: torch.Generator | None = None,
    ):
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.epoch = 0
        self.complete = False
        self.generator = generator
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if (
            self.generator is not None
        ):  # DataLoader's worker base seed: same per epoch across resumes
            self.generator.manual_seed(_epoch_seed(self.seed, self.epoch, 1))

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "complete": int(self.complete)}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.set_epoch(int(state["epoch"]) + (1 if state.get("complete") else 0))

    def _order(self) -> Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(_epoch_seed(self.seed, self.epoch, 0))
        return torch.randperm(self.n, generator=g)

    def _chunks(self) -> list:
        return list(self._order().split(self.batch_size))

    def __iter__(self) -> Iterator:
        self.complete = False
        yield from self._chunks()
        self.complete = True

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size


class _EpochSampler(_EpochBatchSampler):
    """Yields single indices in the (seed, epoch) order."""

    def __init__(self, n: int, shuffle: bool, seed: int, generator: torch.Generator | None = None):
        super().__init__(n, 1, shuffle, seed, generator)

    def _chunks(self) -> list:
        return self._order().tolist()

    def __len__(self) -> int:
        return self.n


class _ResumableLoader(DataLoader):
    """A DataLoader whose sampler position (the epoch) is saved in and restored from checkpoints."""

    def state_dict(self) -> dict[str, int]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.sampler.load_state_dict(state)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + stream) % (2**63 - 1)


def make_dataloader(
    dataset: Dataset,
    *,
    batch_size: int = 64,
    shuffle: bool = False,
    random_state: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    distributed: bool = False,
) -> DataLoader:
    """DataLoader with a reproducible, resumable shuffle.

    A ``TensorDataset`` is indexed a whole batch at a time (one gather per tensor, no per-example
    collation). Shuffling uses a permutation seeded by ``(random_state, epoch)``; Lightning sets the
    epoch through ``sampler.set_epoch``. With ``distributed=True`` a plain DataLoader is returned and
    Lightning inserts its ``DistributedSampler``.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int
    shuffle : bool
    random_state : int
    num_workers : int
    pin_memory : bool
    distributed : bool

    Returns
    -------
    loader : DataLoader
    """
    common: dict[str, Any] = {"num_workers": num_workers, "pin_memory": pin_memory}
    if num_workers > 0:
        common["persistent_workers"] = True
    if distributed:
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, **common)
    gen = torch.Generator().manual_seed(_epoch_seed(random_state, 0, 1))
    n = len(dataset)  # type: ignore[arg-type]
    if isinstance(dataset, TensorDataset):
        sampler = _EpochBatchSampler(n, batch_size, shuffle, random_state, gen)
        return _ResumableLoader(dataset, batch_size=None, sampler=sampler, generator=gen, **common)
    sampler = _EpochSampler(n, shuffle, random_state, gen)
    return _ResumableLoader(
        dataset, batch_size=batch_size, sampler=sampler, generator=gen, **common
    )


# ---------------------------------------------------------------------------------------- fit
