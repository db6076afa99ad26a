"""``sparsegpt``: one-shot pruning with the OBS weight update (Frantar & Alistarh 2023), any pattern.

Per layer, with X the calibration inputs it multiplies (``calibration.py``) and H = X^T X damped by
``PruneConfig.damp`` x mean(diag H): columns are visited left to right in chunks; at each chunk's
start its mask is chosen by ``spiralkit.pattern_mask`` (so unstructured, N:M and RxC blocks are
exactly the one pattern definition; blocks are scored by the sum of their members' saliencies and
removed together) from the OBS saliency w^2 / [U]_jj^2 of the *current, already updated* weights
(U: the upper Cholesky factor of H^-1); each pruned weight's error is then pushed onto the columns
not yet visited through U, so the layer's output on the calibration inputs moves least.

Layers are pruned in forward order (``calibration.forward_groups``): each group's inputs are taken
through the already-pruned layers before it, and only that group's K x K Gram matrix (one per
convolution group) is alive at a time. Weights pruned earlier stay pruned (masks only shrink).
"""

from __future__ import annotations

import torch
from torch import nn

from spiralkit.compress import calibration as cal
from spiralkit.compress.masks import get_mask, set_mask
from spiralkit.compress.registry import CRITERIA
from spiralkit.errors import UnsupportedError
from spiralkit.patterns import Pattern, along_taps, parse_pattern, pattern_mask

DEFAULT_CHUNK = 128
_ROW_CHUNK = 512  # rows solved at once: bounds the (rows, chunk, chunk) triangular systems


def chunk_width(pattern: Pattern, chunk: int = DEFAULT_CHUNK) -> int:
    """The column chunk, a multiple of the pattern's column group so chunks never split a group."""
    group = pattern.m if pattern.kind == "nm" else pattern.cols if pattern.kind == "block" else 1
    return max(group, -(-chunk // group) * group)


def _inverse_cholesky(gram: torch.Tensor, damp: float) -> torch.Tensor:
    """Upper Cholesky factor of (H + damp * mean(diag H) I)^-1; more damping if H is too ill-conditioned."""
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    scale = float(torch.diag(gram).mean())
    for attempt in range(6):
        try:
            hinv = torch.linalg.inv(gram + damp * (10 ** attempt) * scale * eye)
            return torch.linalg.cholesky((hinv + hinv.T) / 2, upper=True)
        except RuntimeError:  # torch.linalg.LinAlgError subclasses RuntimeError
            continue
    raise ValueError("sparsegpt: the calibration Gram matrix is not positive definite even with heavy damping")


@torch.no_grad()
def obs_prune(weight: torch.Tensor, gram: torch.Tensor, pattern: "str | Pattern", sparsity: float,
              keep_old: "torch.Tensor | None" = None, damp: float = 0.01,
              chunk: int = DEFAULT_CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """Prune the (N, K) matrix ``weight`` given the (K, K) Gram matrix ``gram`` of its inputs;
    returns (updated weight with zeros where pruned, keep-mask). ``keep_old`` weights stay pruned."""
    pat = parse_pattern(pattern)
    W = weight.detach().double().clone()
    H = gram.double().clone()
    dead = torch.diag(H) == 0  # inputs that never fired: nothing to reconstruct, prune first
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    U = _inverse_cholesky(H, damp)
    n_rows, k = W.shape
    keep = torch.ones_like(W, dtype=torch.bool)
    width = chunk_width(pat, chunk)
    for i1 in range(0, k, width):
        i2 = min(i1 + width, k)
        W1, U1 = W[:, i1:i2], U[i1:i2, i1:i2]
        d = torch.diag(U1)
        saliency = W1 ** 2 / d[None, :] ** 2
        if keep_old is not None:
            old = keep_old[:, i1:i2]
            saliency = torch.where(old, saliency, saliency.min() - 1.0)  # old pruned rank lowest
        keep1 = torch.from_numpy(pattern_mask(saliency.cpu().numpy(), pat, sparsity)).to(W.device)
        if keep_old is not None:
            keep1 &= keep_old[:, i1:i2]
        # The column-by-column OBS sweep of the chunk, solved at once: with d = diag(U1), U_s its
        # strictly upper part and p_i = 1 where column i is pruned, one row's errors e satisfy
        # e_i = p_i / d_i * (w_i - (e U_s)_i): the unit lower-triangular system
        # (I + diag(p / d) U_s^T) e = diag(p / d) w, one per row (rows differ in p).
        scale = (~keep1).to(W.dtype) / d[None, :]
        U_s = torch.triu(U1, diagonal=1)
        err = torch.empty_like(W1)
        for r1 in range(0, n_rows, _ROW_CHUNK):
            r2 = min(r1 + _ROW_CHUNK, n_rows)
            A = scale[r1:r2, :, None] * U_s.T[None]
            A.diagonal(dim1=1, dim2=2).add_(1.0)
            rhs = (scale[r1:r2] * W1[r1:r2])[:, :, None]
            err[r1:r2] = torch.linalg.solve_triangular(A, rhs, upper=False, unitriangular=True)[:, :, 0]
        W[:, i1:i2] = (W1 - err @ U_s) * keep1
        keep[:, i1:i2] = keep1
        W[:, i2:] -= err @ U[i1:i2, i2:]
    W[~keep] = 0.0
    return W.to(weight.dtype), keep


def _weight_leaf(module: nn.Module) -> torch.Tensor:
    return module.parametrizations.weight.original if get_mask(module) is not None else module.weight


@torch.no_grad()
def prune_layer(module: nn.Module, gram: torch.Tensor, pattern: Pattern, sparsity: float, damp: float) -> None:
    """OBS-prune one Linear/Conv2d in place from its (groups, K, K) Gram matrices; mask set on it."""
    weight = module.weight.detach()
    n_rows = weight.shape[0]
    groups = gram.shape[0]
    per_group = n_rows // groups
    if groups > 1 and pattern.kind == "block" and per_group % pattern.rows:
        raise UnsupportedError(
            f"sparsegpt: {pattern.name} blocks would straddle convolution groups ({per_group} rows per group)"
        )
    W2 = weight.reshape(n_rows, -1)
    old = get_mask(module)
    old2 = None if old is None else old.reshape(n_rows, -1)
    # RxC-cin blocks of a k x k layer: the OBS sweep runs on K reordered tap-major (input channels
    # innermost), where those blocks are consecutive columns; W, H and the old mask are permuted
    # alike (the update is equivariant to it) and the result put back in PyTorch's order.
    perm = None
    if along_taps(pattern, tuple(weight.shape)):
        c, taps = weight.shape[1], weight.shape[2] * weight.shape[3]
        perm = torch.arange(c * taps, device=W2.device).reshape(c, taps).T.reshape(-1)
        W2, gram = W2[:, perm], gram[:, perm][:, :, perm]
        old2 = None if old2 is None else old2[:, perm]
        pattern = Pattern(kind="block", rows=pattern.rows, cols=pattern.cols)
    new_w, keep = torch.empty_like(W2), torch.empty_like(W2, dtype=torch.bool)
    for g in range(groups):
        rows = slice(g * per_group, (g + 1) * per_group)
        new_w[rows], keep[rows] = obs_prune(W2[rows], gram[g].to(W2.device), pattern, sparsity,
                                            None if old2 is None else old2[rows], damp)
    if perm is not None:
        new_w[:, perm], keep[:, perm] = new_w.clone(), keep.clone()
    _weight_leaf(module).copy_(new_w.reshape(weight.shape))
    set_mask(module, keep.reshape(weight.shape))


def prune_sequential(model: nn.Module, layers: dict[str, nn.Module], data, pattern: "str | Pattern",
                     sparsity: float, *, batches: int, damp: float, trace: "list | None" = None) -> None:
    """Prune ``layers`` of ``model`` group by group in forward order (see the module docstring).
    ``trace``, if given, receives one ``{"layer", "gram_shape", "inputs_from"}`` per layer."""
    pat = parse_pattern(pattern)
    if pat.kind == "channel":
        raise UnsupportedError("sparsegpt prunes weights, not channels; use l1_filter / l2_filter / taylor for 'channel'")
    pruned: list[str] = []
    for group in cal.forward_groups(model, layers, data):
        # Layers of a group read one input tensor: one Gram matrix serves them all.
        first = layers[group[0]]
        shared = all(type(layers[n]) is type(first) and cal.groups_of(layers[n]) == cal.groups_of(first)
                     and layers[n].weight[0].numel() == first.weight[0].numel() for n in group)
        hooked = {group[0]: first} if shared else {n: layers[n] for n in group}
        stats = cal.collect(model, hooked, data, batches, gram=True)
        for name in group:
            gram = stats[group[0] if shared else name]["gram"]
            if trace is not None:
                trace.append({"layer": name, "gram_shape": tuple(gram.shape), "inputs_from": list(pruned)})
            prune_layer(layers[name], gram, pat, sparsity, damp)
            pruned.append(name)
        del stats


@CRITERIA.register("sparsegpt")
def sparsegpt(weight, stats, generator=None):
    """OBS saliency w^2 / [H^-1]_jj (the score of a weight alone, before any update). Called by
    ``spiralkit.prune``, this criterion instead prunes layer by layer with the weight update
    (``prune_sequential``): ``reconstructs = True``."""
    gram = stats["gram"]
    n_rows = weight.shape[0]
    groups = gram.shape[0]
    w = weight.detach().reshape(n_rows, -1).double()
    out = torch.empty_like(w)
    per_group = n_rows // groups
    for g in range(groups):
        h = gram[g].double() + 0.01 * torch.diag(gram[g]).double().mean() * torch.eye(gram.shape[-1], dtype=torch.float64)
        diag = torch.diag(torch.linalg.inv(h)).to(w.device)
        rows = slice(g * per_group, (g + 1) * per_group)
        out[rows] = w[rows] ** 2 / diag[None, :]
    return out.reshape(weight.shape)


sparsegpt.needs_inputs = True
sparsegpt.needs_gram = True
sparsegpt.reconstructs = True
