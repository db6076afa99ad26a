"""Writes the small real artifacts the C++ loader fuzz test mutates (tests/cpp/test_artifact.cc).
Re-run after a change to the artifact format: PYTHONPATH=python python tests/cpp/data/make_artifacts.py
(tests/python/engine/test_artifact_files.py fails when the committed files no longer load)."""

from __future__ import annotations

import pathlib

import numpy as np
import torch
from torch import nn

import spiralkit

HERE = pathlib.Path(__file__).resolve().parent


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, stride=2, groups=8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.relu(self.c2(y) + y)
        y = nn.functional.max_pool2d(self.dw(y), 2)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class TinyEncoder(nn.Module):
    def __init__(self, vocab=20, d=8, heads=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln = nn.LayerNorm(d)
        self.ff = nn.Linear(d, 16)
        self.ff2 = nn.Linear(16, d)
        self.heads = heads

    def forward(self, ids):
        x = self.emb(ids)
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        split = lambda t: t.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
        att = torch.softmax(split(q) @ split(k).transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1)
        ctx = (att @ split(v)).transpose(1, 2).reshape(b, s, d)
        x = self.ln(self.out(ctx) + x)
        return self.ln(self.ff2(nn.functional.gelu(self.ff(x))) + x)


def prune(model, pattern="4x1", sparsity=0.5):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.shape[0] % 4 == 0 and (
                    not isinstance(m, nn.Conv2d) or m.groups == 1):
                w = m.weight.detach().numpy()
                m.weight.copy_(torch.from_numpy(spiralkit.prune_to_pattern(w.reshape(w.shape[0], -1), pattern, sparsity)
                                                .reshape(w.shape)))
    return model


def main():
    torch.manual_seed(0)
    cnn = prune(TinyCnn().eval())
    cnn.bn.running_mean.uniform_(-0.5, 0.5)
    cnn.bn.running_var.uniform_(0.5, 1.5)
    spiralkit.compile(cnn, torch.randn(1, 3, 8, 8)).save(HERE / "tiny_cnn.spk")
    enc = prune(TinyEncoder().eval())
    spiralkit.compile(enc, torch.randint(0, 20, (1, 6))).save(HERE / "tiny_encoder.spk")
    for p in sorted(HERE.glob("*.spk")):
        print(p.name, p.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
