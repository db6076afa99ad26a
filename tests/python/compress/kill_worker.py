"""Run by test_kill_resume.py: a short, fully seeded spiral on synthetic data through a shuffled
DataLoader (so the loader's own generator must be replayed on resume). ``--slow`` sleeps per
batch so the test can kill it mid-round; sleeping changes no number."""

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig
from spiralkit.compress.distill import copy_model, distill
from spiralkit.compress.spiral import compress


class SlowLoader:
    """The loader, one sleep per batch; ``generator`` exposed so the spiral can reseed it."""

    def __init__(self, loader, delay):
        self.loader, self.delay, self.generator = loader, delay, loader.generator

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            time.sleep(self.delay)
            yield batch


def data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 32, generator=g)
    y = (x[:, :4].sum(1) > 0).long() + (x[:, 4] > 0.5).long()
    return TensorDataset(x, y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--slow", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    train = DataLoader(data(512, 1), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(5))
    val = DataLoader(data(256, 2), batch_size=128)
    distill(model, None, DistillConfig(loss="task", epochs=1, lr=3e-3), train, progress=False)
    teacher = copy_model(model)
    cfg = SpiralConfig(rounds=4, target_sparsity=0.9, tolerance=1.0, round_steps=12, final_steps=12, baseline=True,
                       output_dir=args.out, prune=PruneConfig(skip_first=False),
                       distill=DistillConfig(loss="soft", lr=2e-3, lr_schedule="cosine"))
    compress(model, cfg, SlowLoader(train, args.slow), val, teacher=teacher, resume=args.resume, progress=False,
             quiet=True)


if __name__ == "__main__":
    main()
