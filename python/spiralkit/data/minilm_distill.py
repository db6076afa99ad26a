"""Sentence-embedding distillation of MiniLM-L6 into a pattern-sparse student: data, metrics, loop.

The language case of issue 4. The pieces, usable on their own:

* :class:`SentenceSet` — sentences tokenised once, with the teacher's embeddings computed once
  (the teacher is frozen: no need to run it again every step), served as length-bucketed batches
  ``{"input_ids", "attention_mask"}`` (the dict form ``spiralkit.compress`` accepts) so little
  time goes to padding;
* :func:`agreement` — the evaluation: mean / min / 5th-percentile cosine(student, teacher) over
  held-out sentences, and top-1 **retrieval agreement**: for each held-out sentence as a query, is
  the student's nearest other held-out sentence the same as the teacher's;
* :func:`activation_scores` — Wanda-style importance ``|W_ij| * ||x_j||`` (Sun et al. 2023) from a
  few calibration batches; magnitude alone ignores that some input features of a transformer are
  far larger than others;
* :func:`pattern_masks` / :func:`apply_masks` — keep-masks per ``nn.Linear`` through the one
  pattern definition (:func:`spiralkit.pattern_mask`), multiplied into the weights;
* :func:`distill` — AdamW on ``1 - cos(student, teacher)`` (+ optional token-state MSE), the masks
  re-applied after every optimizer step so no pruned weight ever regrows.

Sparsity is reported both over the pruned layers and over the whole model (ARCHITECTURE.md).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from spiralkit.data.minilm import MiniLMEncoder, MiniLMTokenizer, prunable_linear_names
from spiralkit.patterns import pattern_mask

__all__ = [
    "SentenceSet",
    "agreement",
    "embed",
    "activation_scores",
    "pattern_masks",
    "apply_masks",
    "sparsity_report",
    "reconstruct_prune",
    "distill",
]


class SentenceSet:
    """Tokenised sentences (+ the teacher's embeddings once :meth:`attach_teacher` ran)."""

    def __init__(
        self,
        sentences: Sequence[str],
        tokenizer: MiniLMTokenizer,
        max_tokens: int | None = None,
        device: "str | torch.device" = "cpu",
    ) -> None:
        if not sentences:
            raise ValueError("sentences: expected at least one sentence")
        self.sentences = list(sentences)
        self.tokenizer = tokenizer
        ids = tokenizer.ids(self.sentences)
        if max_tokens is not None:
            if max_tokens < 2:
                raise ValueError(f"max_tokens: expected >= 2, got {max_tokens}")
            ids = [x if len(x) <= max_tokens else x[: max_tokens - 1] + x[-1:] for x in ids]  # keep [SEP]
        self.ids = ids
        self.teacher: torch.Tensor | None = None  # (len, hidden) on the CPU
        self.device = torch.device(device)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def tokens(self) -> int:
        return sum(len(x) for x in self.ids)

    def batch(self, idx: Sequence[int]) -> dict[str, torch.Tensor]:
        input_ids, mask = self.tokenizer.pad([self.ids[i] for i in idx])
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}

    def length_batches(self, batch_size: int, *, shuffle: bool, seed: int = 0) -> list[list[int]]:
        """Index batches of similar-length sentences; with ``shuffle``, the members of each length
        band and the order of the batches are shuffled (a new seed = a new epoch)."""
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        order = sorted(range(len(self.ids)), key=lambda i: len(self.ids[i]))
        if shuffle:
            rng = random.Random(seed)
            band = batch_size * 8  # shuffle inside bands of similar length, then cut batches
            order = [i for s in range(0, len(order), band) for i in rng.sample(order[s : s + band], len(order[s : s + band]))]
            batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
            rng.shuffle(batches)
            return batches
        return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]

    def attach_teacher(self, teacher: MiniLMEncoder, batch_size: int = 64) -> "SentenceSet":
        self.teacher = embed(teacher, self, batch_size)
        return self


@torch.no_grad()
def embed(model: nn.Module, data: SentenceSet, batch_size: int = 64) -> torch.Tensor:
    """Embeddings of every sentence of ``data`` in its order (float32, on the CPU)."""
    was_training = model.training
    model.eval()
    out = None
    try:
        for idx in data.length_batches(batch_size, shuffle=False):
            emb = model(**data.batch(idx))
            if out is None:
                out = torch.empty(len(data), emb.shape[1])
            out[idx] = emb.float().cpu()
    finally:
        model.train(was_training)
    return out


def agreement(student: torch.Tensor, teacher: torch.Tensor) -> dict[str, float]:
    """How well ``student`` embeddings stand in for ``teacher``'s, row i = sentence i.

    ``mean_cosine``/``min_cosine``/``p05_cosine``: cosine of each sentence's two embeddings.
    ``retrieval_top1``: fraction of sentences (as queries against all the others) whose nearest
    neighbour under the student equals the nearest under the teacher. ``retrieval_top5_overlap``:
    mean |top-5(student) ∩ top-5(teacher)| / 5.
    """
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(f"student/teacher: expected equal 2-D shapes, got {tuple(student.shape)} and {tuple(teacher.shape)}")
    if student.shape[0] < 2:
        raise ValueError("student/teacher: retrieval needs at least 2 sentences")
    s = nn.functional.normalize(student.double(), dim=1)
    t = nn.functional.normalize(teacher.double(), dim=1)
    cos = (s * t).sum(1)
    eye = torch.eye(s.shape[0], dtype=torch.bool)
    sim_s = (s @ s.T).masked_fill(eye, -math.inf)
    sim_t = (t @ t.T).masked_fill(eye, -math.inf)
    nn_s, nn_t = sim_s.argmax(1), sim_t.argmax(1)
    k = min(5, s.shape[0] - 1)
    top_s, top_t = sim_s.topk(k, dim=1).indices, sim_t.topk(k, dim=1).indices
    overlap = (top_s[:, :, None] == top_t[:, None, :]).any(2).double().mean(1)
    return {
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "p05_cosine": float(torch.quantile(cos, 0.05)),
        "retrieval_top1": float((nn_s == nn_t).double().mean()),
        "retrieval_top5_overlap": float(overlap.mean()),
        "sentences": int(s.shape[0]),
    }


@torch.no_grad()
def activation_scores(model: MiniLMEncoder, data: SentenceSet, batches: int = 8, batch_size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """``|W| * ||x_j||_2`` per Linear (input feature norms over real tokens of a few batches)."""
    names = prunable_linear_names(model)
    sq: dict[str, torch.Tensor] = {}
    hooks = []
    current_mask: list[torch.Tensor] = []

    def hook(name):
        def fn(module, inputs, output):
            x = inputs[0]
            m = current_mask[0].reshape(-1).bool()
            x = x.reshape(-1, x.shape[-1])[m]
            sq[name] = sq.get(name, 0) + (x.double() ** 2).sum(0)

        return fn

    for name in names:
        hooks.append(model.get_submodule(name).register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        for idx in data.length_batches(batch_size, shuffle=True, seed=seed)[:batches]:
            b = data.batch(idx)
            current_mask[:] = [b["attention_mask"]]
            model(**b)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {n: model.get_submodule(n).weight.detach().abs() * sq[n].sqrt().float()[None, :] for n in names}


def pattern_masks(
    model: nn.Module,
    pattern: str,
    sparsity: float,
    scores: dict[str, torch.Tensor] | None = None,
    layers: Sequence[str] | None = None,
    previous: dict[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Keep-masks (bool, weight-shaped) at ``sparsity`` per layer following ``pattern``.

    ``scores`` default to |w|. With ``previous`` masks, already-pruned weights score -inf so they
    stay pruned (pruning only ever removes), i.e. spiral rounds nest.
    """
    layers = list(layers) if layers is not None else prunable_linear_names(model)
    out = {}
    for name in layers:
        w = model.get_submodule(name).weight.detach()
        s = (scores[name] if scores is not None else w.abs()).double().clone()
        if previous is not None and name in previous:
            s[~previous[name]] = -1.0  # every real score is >= 0: pruned weights rank lowest
        keep = torch.from_numpy(pattern_mask(s.cpu().numpy(), pattern, sparsity)).to(w.device)
        if previous is not None and name in previous:
            keep &= previous[name].to(w.device)
        out[name] = keep
    return out


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    for name, keep in masks.items():
        model.get_submodule(name).weight.mul_(keep.to(torch.float32))


def sparsity_report(model: nn.Module, layers: Sequence[str] | None = None) -> dict[str, float]:
    """Fraction of exactly-zero weights in the pruned layers' weights and in the whole model
    (every parameter, embeddings and biases included), plus the counts."""
    layers = list(layers) if layers is not None else prunable_linear_names(model)
    pruned_total = pruned_zero = 0
    for name in layers:
        w = model.get_submodule(name).weight
        pruned_total += w.numel()
        pruned_zero += int((w == 0).sum())
    total = sum(p.numel() for p in model.parameters())
    zeros = sum(int((p == 0).sum()) for p in model.parameters())
    return {
        "layer_sparsity": pruned_zero / max(pruned_total, 1),
        "model_sparsity": zeros / max(total, 1),
        "pruned_layer_params": pruned_total,
        "model_params": total,
        "nonzero_params": total - zeros,
    }


class _Stop(Exception):
    pass


def _layer_groups(model: MiniLMEncoder, layers: Sequence[str]) -> list[list[str]]:
    """Linears in data-flow order, grouped by shared input: [q, k, v], [attn out], [ffn in], [ffn out]."""
    wanted = set(layers)
    groups = []
    for i in range(len(model.encoder.layer)):
        p = f"encoder.layer.{i}."
        for group in (
            [p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"],
            [p + "attention.output.dense"],
            [p + "intermediate.dense"],
            [p + "output.dense"],
        ):
            group = [n for n in group if n in wanted]
            if group:
                groups.append(group)
    missing = wanted - {n for g in groups for n in g}
    if missing:
        raise ValueError(f"layers: not encoder Linears: {sorted(missing)}")
    return groups


@torch.no_grad()
def _input_gram(model: MiniLMEncoder, calib: Sequence[dict[str, torch.Tensor]], names: list[str]) -> dict[str, torch.Tensor]:
    """Sum over calibration tokens (padding excluded) of x x^T for the inputs of ``names``;
    the forward stops as soon as the last of them has run."""
    gram: dict[str, torch.Tensor] = {}
    current: list[torch.Tensor] = []
    seen: set[str] = set()

    def hook(name):
        def fn(module, inputs, output):
            x = inputs[0].reshape(-1, inputs[0].shape[-1])[current[0]]
            gram[name] = gram.get(name, 0) + (x.T @ x).double()  # float32 product, float64 sum
            seen.add(name)
            if len(seen) == len(names):
                raise _Stop

        return fn

    hooks = [model.get_submodule(n).register_forward_hook(hook(n)) for n in names]
    try:
        for batch in calib:
            current[:] = [batch["attention_mask"].reshape(-1).bool()]
            seen.clear()
            try:
                model(**batch)
            except _Stop:
                pass
    finally:
        for h in hooks:
            h.remove()
    return gram


@torch.no_grad()
def _obs_prune(
    weight: torch.Tensor,
    gram: torch.Tensor,
    pattern: str,
    sparsity: float,
    previous: torch.Tensor | None = None,
    damp: float = 0.01,
    blocksize: int = 128,
) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT (Frantar & Alistarh 2023) for any pattern: returns (pruned weight, keep-mask).

    Columns are visited left to right in chunks of ``blocksize``. At each chunk's start its mask
    is chosen by :func:`spiralkit.pattern_mask` from the OBS saliency ``w^2 / [H^-1]_jj^2`` of the
    *current* (already updated) weights, at ``sparsity`` within the chunk (``previous`` pruned
    weights stay pruned); then each pruned weight's error is pushed onto the not-yet-visited
    columns through the inverse Hessian ``(X^T X)^-1``, so the layer's output on the calibration
    inputs moves least. ``blocksize`` must be a multiple of the pattern's column group.
    """
    W = weight.detach().float().clone()
    H = gram.double().clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += damp * torch.diag(H).mean() * torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    # (torch.cholesky_inverse is slow on CPU; LU-based inv of the damped SPD matrix is fine.)
    Hinv = torch.linalg.inv(H)
    Hinv = torch.linalg.cholesky((Hinv + Hinv.T) / 2, upper=True).float()
    k = W.shape[1]
    keep = torch.ones_like(W, dtype=torch.bool)
    for i1 in range(0, k, blocksize):
        i2 = min(i1 + blocksize, k)
        W1 = W[:, i1:i2]
        Hinv1 = Hinv[i1:i2, i1:i2]
        scores = (W1.double() ** 2) / torch.diag(Hinv1).double()[None, :] ** 2
        if previous is not None:
            scores[~previous[:, i1:i2]] = -1.0  # real saliencies are >= 0
        keep1 = torch.from_numpy(pattern_mask(scores.cpu().numpy(), pattern, sparsity)).to(W.device)
        if previous is not None:
            keep1 &= previous[:, i1:i2]
        # The column-by-column OBS sweep of the chunk, solved at once: with U = Hinv1 (upper),
        # d = diag(U), U_s its strictly upper part and p_i = 1 where column i is pruned, the errors
        # e of one row satisfy e_i = p_i / d_i * (w_i - (e U_s)_i), i.e. the unit lower-triangular
        # system (I + diag(p / d) U_s^T) e = diag(p / d) w, one per row (rows differ in p).
        scale = (~keep1).to(W1.dtype) / torch.diag(Hinv1)[None, :]
        U_s = torch.triu(Hinv1, diagonal=1)
        Err1 = torch.empty_like(W1)
        for r1 in range(0, W1.shape[0], 512):  # bounded memory: 512 x bs x bs floats
            r2 = min(r1 + 512, W1.shape[0])
            A = scale[r1:r2, :, None] * U_s.T[None]
            A.diagonal(dim1=1, dim2=2).add_(1.0)
            rhs = (scale[r1:r2] * W1[r1:r2])[:, :, None]
            Err1[r1:r2] = torch.linalg.solve_triangular(A, rhs, upper=False, unitriangular=True)[:, :, 0]
        W1 = (W1 - Err1 @ U_s) * keep1
        W[:, i1:i2] = W1
        keep[:, i1:i2] = keep1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    W[~keep] = 0.0
    return W.to(weight.dtype), keep


@torch.no_grad()
def reconstruct_prune(
    model: MiniLMEncoder,
    calib: SentenceSet,
    pattern: str,
    sparsity: float,
    *,
    previous: dict[str, torch.Tensor] | None = None,
    layers: Sequence[str] | None = None,
    batches: int = 8,
    batch_size: int = 32,
    damp: float = 0.01,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Prune ``model`` in place, layer after layer in data-flow order, and return the keep-masks.

    For each Linear, the input Gram matrix ``X^T X`` over calibration tokens (taken through the
    already-pruned earlier layers) drives SparseGPT (:func:`_obs_prune`): masks chosen chunk by
    chunk with :func:`spiralkit.pattern_mask` (``previous`` masks nest), the surviving weights
    absorbing the pruned ones' contribution.
    """
    layers = list(layers) if layers is not None else prunable_linear_names(model)
    was_training = model.training
    model.eval()
    calib_batches = [calib.batch(idx) for idx in calib.length_batches(batch_size, shuffle=True, seed=seed)[:batches]]
    masks: dict[str, torch.Tensor] = {}
    try:
        for group in _layer_groups(model, layers):
            grams = _input_gram(model, calib_batches, group)
            for name in group:
                module = model.get_submodule(name)
                prev = None if previous is None else previous.get(name)
                pruned, keep = _obs_prune(module.weight, grams[name], pattern, sparsity, prev, damp)
                module.weight.copy_(pruned)
                masks[name] = keep
    finally:
        model.train(was_training)
    return masks


@dataclass
class DistillStats:
    steps: int
    seconds: float
    sentences: int
    last_loss: float


def distill(
    student: MiniLMEncoder,
    train: SentenceSet,
    masks: dict[str, torch.Tensor],
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-4,
    weight_decay: float = 0.0,
    warmup: int = 10,
    seed: int = 0,
    freeze_embeddings: bool = True,
    teacher: MiniLMEncoder | None = None,
    hidden_weight: float = 0.0,
    time_limit: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    log: Callable[[str], None] | None = None,
) -> DistillStats:
    """Distil the teacher's sentence embeddings into ``student`` for ``steps`` AdamW steps
    (loss 1 - cos; targets from ``teacher`` run on each batch, else the cached ``train.teacher``), with
    ``masks`` re-applied after every step. Linear warm-up then cosine decay of the learning rate.

    With ``hidden_weight`` > 0 and a ``teacher`` model, every layer's token states are matched too
    (layer-wise hints, no adapter needed: student and teacher share the architecture): the loss
    adds ``hidden_weight * sum_l MSE(h_l^s, h_l^t) / mean((h_l^t)^2)`` over real tokens.
    Stops early (after the step in progress) once ``time_limit`` seconds of ``clock`` have passed."""
    if train.teacher is None and teacher is None:
        raise ValueError("teacher: pass the teacher model, or call train.attach_teacher(teacher) first")
    if steps < 0:
        raise ValueError(f"steps: expected >= 0, got {steps}")
    if hidden_weight > 0 and teacher is None:
        raise ValueError("teacher: hidden_weight > 0 matches the teacher's hidden states, pass the teacher model")
    if teacher is not None:
        teacher.eval()
    student.train()
    if freeze_embeddings:
        for p in student.embeddings.parameters():
            p.requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    float_masks = {n: m.to(device=student.get_submodule(n).weight.device, dtype=torch.float32) for n, m in masks.items()}
    modules = {n: student.get_submodule(n) for n in masks}

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(steps - warmup, 1)
        return lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def batches() -> Iterator[list[int]]:
        epoch = 0
        while True:
            yield from train.length_batches(batch_size, shuffle=True, seed=seed * 1000 + epoch)
            epoch += 1

    start = time.perf_counter()
    clock_start = clock()
    seen = 0
    loss_value = float("nan")
    step = 0
    for step, idx in zip(range(steps), batches()):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        batch = train.batch(idx)
        t_states = None
        if teacher is not None and (hidden_weight > 0 or train.teacher is None):
            with torch.no_grad():
                t_states = teacher.hidden_states(**batch)
                target = teacher.pool(t_states[-1], batch["attention_mask"])
        else:
            target = train.teacher[idx].to(train.device)
        if hidden_weight > 0:
            states = student.hidden_states(**batch)
            out = student.pool(states[-1], batch["attention_mask"])
            real = batch["attention_mask"].reshape(-1).bool()
            hint = 0.0
            for hs, ht in zip(states[1:], t_states[1:]):
                hs = hs.reshape(-1, hs.shape[-1])[real]
                ht = ht.reshape(-1, ht.shape[-1])[real]
                hint = hint + ((hs - ht) ** 2).mean() / (ht**2).mean()
        else:
            out = student(**batch)
            hint = 0.0
        loss = (1 - nn.functional.cosine_similarity(out, target, dim=1)).mean() + hidden_weight * hint
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for name, m in float_masks.items():
                modules[name].weight.mul_(m)
        seen += len(idx)
        loss_value = float(loss.detach())
        if log is not None and (step % 20 == 0 or step == steps - 1):
            log(f"  step {step:4d}  loss {loss_value:.4f}  lr {lr_at(step):.2e}  {time.perf_counter() - start:6.1f}s")
        if time_limit is not None and clock() - clock_start > time_limit:
            step += 1
            break
    else:
        step = steps
    student.eval()
    return DistillStats(steps=step, seconds=time.perf_counter() - start, sentences=seen, last_loss=loss_value)
