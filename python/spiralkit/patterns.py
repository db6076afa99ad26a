"""The sparse-pattern vocabulary (ARCHITECTURE.md) and pattern-aware pruning masks.

Everything here works on the *logical* N x K matrix of a weight: N output rows, K the reduction
ordered as ``weight.reshape(N, -1)``. Pure numpy: the training side, the benchmarks and the packer
all share this one definition, so a mask built here is exactly what ``spiralkit.pack`` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Pattern", "parse_pattern", "pattern_mask", "prune_to_pattern", "as_matrix"]

_BLOCK_RE = re.compile(r"^(\d+)x(\d+)(-cin)?$")
_NM_RE = re.compile(r"^(\d+):(\d+)$")


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern. ``kind`` is one of dense, unstructured, block, nm, channel."""

    kind: str
    rows: int = 1  # block height (output rows)
    cols: int = 1  # block width (K columns)
    n: int = 0  # N of N:M
    m: int = 0  # M of N:M
    # Blocks of a k x k convolution's weight: False, C consecutive K columns in PyTorch's order
    # (which for a k x k layer run along the kernel taps); True ("RxC-cin"), C consecutive input
    # channels at one tap (kh, kw), the VNNI/SDOT lane group of a channels-innermost layout. Linear
    # and 1x1 weights read both the same way.
    along_cin: bool = False

    @property
    def name(self) -> str:
        if self.kind == "block":
            return f"{self.rows}x{self.cols}" + ("-cin" if self.along_cin else "")
        if self.kind == "nm":
            return f"{self.n}:{self.m}"
        return self.kind

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.name


def parse_pattern(pattern: "str | Pattern") -> Pattern:
    """Parse a pattern name (``"4x1"``, ``"2:4"``, ``"unstructured"``...) into a :class:`Pattern`."""
    if isinstance(pattern, Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise ValueError(f"pattern: expected a string such as '4x1' or '2:4', got {type(pattern).__name__}")
    text = pattern.strip().lower()
    if text in ("dense", "unstructured", "channel"):
        return Pattern(kind=text)
    block = _BLOCK_RE.match(text)
    if block:
        r, c = int(block.group(1)), int(block.group(2))
        if r < 1 or c < 1 or r > 4096 or c > 4096:
            raise ValueError(f"pattern: block sides must be in 1..4096, got '{pattern}'")
        return Pattern(kind="block", rows=r, cols=c, along_cin=bool(block.group(3)))
    nm = _NM_RE.match(text)
    if nm:
        n, m = int(nm.group(1)), int(nm.group(2))
        if not (1 <= n < m <= 255):
            raise ValueError(f"pattern: N:M needs 1 <= N < M <= 255, got '{pattern}'")
        return Pattern(kind="nm", n=n, m=m)
    raise ValueError(
        f"pattern: unknown pattern '{pattern}'; expected 'dense', 'unstructured', 'channel', "
        "a block 'RxC' (e.g. '4x1'; 'RxC-cin' for blocks along a convolution's input channels) or 'N:M' (e.g. '2:4')"
    )


def as_matrix(weight: np.ndarray) -> np.ndarray:
    """View a 2-D linear or 4-D conv weight as its logical N x K matrix."""
    if weight.ndim not in (2, 4):
        raise ValueError(
            f"weight: expected a 2-D (N, K) or 4-D (C_out, C_in/groups, kh, kw) array, got {weight.ndim}-D"
        )
    return weight.reshape(weight.shape[0], -1)


def taps_first(a: np.ndarray) -> np.ndarray:
    """A 4-D conv array (C_out, C_in, kh, kw) as its N x (kh * kw * C_in) matrix: K ordered tap by
    tap, the input channels innermost (where ``RxC-cin`` blocks are consecutive)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(a.shape[0], -1)


def from_taps_first(mat: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of :func:`taps_first` for an array of ``shape``."""
    n, c, kh, kw = shape
    return np.ascontiguousarray(mat.reshape(n, kh, kw, c).transpose(0, 3, 1, 2))


def along_taps(pattern: Pattern, shape: tuple) -> bool:
    """Whether ``pattern`` groups a weight of ``shape`` along input channels at each tap (a k x k
    convolution with ``RxC-cin`` blocks): then its mask is built on :func:`taps_first`'s view."""
    return pattern.kind == "block" and pattern.along_cin and len(shape) == 4 and shape[2] * shape[3] > 1


def packing_pattern(pattern: "str | Pattern", shape: tuple) -> Pattern:
    """The pattern the fp32 packer stores a weight of ``shape`` with: ``RxC-cin`` blocks of a k x k
    convolution are not blocks of its PyTorch-ordered matrix, so they pack as unstructured (the
    int8 engine finds them itself and reads them tap by tap); otherwise ``pattern``."""
    pat = parse_pattern(pattern)
    if along_taps(pat, shape):
        return Pattern(kind="unstructured")
    return Pattern(kind=pat.kind, rows=pat.rows, cols=pat.cols, n=pat.n, m=pat.m) if pat.along_cin else pat


def _keep_top(scores: np.ndarray, sizes: np.ndarray, prune_elems: int) -> np.ndarray:
    """Boolean keep-mask over units: prune the lowest-scoring units until ``prune_elems`` weights
    (counted by each unit's ``sizes``) are removed, as close as the unit sizes allow."""
    order = np.argsort(scores, kind="stable")
    removed = np.cumsum(sizes[order])
    # The number of units whose cumulative size is closest to the target.
    count = int(np.searchsorted(removed, prune_elems, side="right"))
    if count < len(order):
        below = removed[count - 1] if count > 0 else 0
        if abs(removed[count] - prune_elems) < abs(prune_elems - below):
            count += 1
    keep = np.ones(scores.shape, dtype=bool)
    keep[order[:count]] = False
    return keep


def pattern_mask(scores: np.ndarray, pattern: "str | Pattern", sparsity: float) -> np.ndarray:
    """Keep-mask (True = kept) over a weight's logical matrix, following ``pattern``.

    ``scores`` has the weight's shape (2-D or 4-D) and ranks importance: larger is kept. Units
    (elements, blocks, groups' members, rows) with the lowest mean score are removed until
    ``sparsity`` of the weights are zero, as close as the pattern allows. N:M always removes at
    least ``1 - N/M``; beyond that, kept elements are removed by score without breaking N:M.
    """
    pat = parse_pattern(pattern)
    scores = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(scores).all():
        raise ValueError("scores: contain NaN or infinity")
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity: expected a fraction in [0, 1), got {sparsity}")
    shape = scores.shape
    if along_taps(pat, shape):  # blocks of input channels at one tap: build the mask tap-major
        flat = pattern_mask(taps_first(scores), Pattern(kind="block", rows=pat.rows, cols=pat.cols), sparsity)
        return from_taps_first(flat, shape)
    mat = as_matrix(scores)
    n_rows, k = mat.shape
    total = mat.size
    target = int(round(float(sparsity) * total))

    if pat.kind == "dense":
        if sparsity > 0:
            raise ValueError(f"pattern: 'dense' admits no sparsity, asked for {sparsity}")
        keep = np.ones_like(mat, dtype=bool)
    elif pat.kind == "unstructured":
        keep = _keep_top(mat.ravel(), np.ones(total, dtype=np.int64), target).reshape(mat.shape)
    elif pat.kind == "channel":
        keep_rows = _keep_top(mat.mean(axis=1), np.full(n_rows, k, dtype=np.int64), target)
        keep = np.repeat(keep_rows[:, None], k, axis=1)
    elif pat.kind == "block":
        r, c = pat.rows, pat.cols
        br, bc = -(-n_rows // r), -(-k // c)
        padded = np.zeros((br * r, bc * c))
        counts = np.zeros_like(padded)
        padded[:n_rows, :k] = mat
        counts[:n_rows, :k] = 1
        block_sum = padded.reshape(br, r, bc, c).sum(axis=(1, 3))
        block_size = counts.reshape(br, r, bc, c).sum(axis=(1, 3)).astype(np.int64)
        # Mean, not sum: partial edge blocks compete fairly with full ones.
        keep_blocks = _keep_top((block_sum / block_size).ravel(), block_size.ravel(), target)
        keep_blocks = keep_blocks.reshape(br, bc)
        keep = np.repeat(np.repeat(keep_blocks, r, axis=0), c, axis=1)[:n_rows, :k]
    elif pat.kind == "nm":
        keep = _nm_mask(mat, pat.n, pat.m)
        extra = target - int((~keep).sum())
        if extra > 0:
            # Prune further among kept elements; removing more never breaks "at most N of M".
            flat = np.where(keep.ravel(), mat.ravel(), np.inf)
            order = np.argsort(flat, kind="stable")[:extra]
            keep = keep.ravel().copy()
            keep[order] = False
            keep = keep.reshape(mat.shape)
    else:  # pragma: no cover - parse_pattern guards the kinds
        raise AssertionError(pat.kind)
    return keep.reshape(shape)


def _nm_mask(mat: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep the N highest-scoring of every M consecutive columns (a short last group keeps min(N, size))."""
    n_rows, k = mat.shape
    groups = -(-k // m)
    padded = np.full((n_rows, groups * m), -np.inf)
    padded[:, :k] = mat
    grouped = padded.reshape(n_rows, groups, m)
    # Rank within each group: the top N (stable for ties) are kept.
    ranks = np.argsort(np.argsort(-grouped, axis=2, kind="stable"), axis=2, kind="stable")
    keep = (ranks < n).reshape(n_rows, groups * m)[:, :k]
    return keep


def prune_to_pattern(weight, pattern: "str | Pattern", sparsity: float):
    """Magnitude-prune ``weight`` so its zeros follow ``pattern`` at (about) ``sparsity``.

    Accepts a numpy float32 array or a CPU torch tensor (returned as the same kind); the result
    is the dense weight with pruned entries set to zero, ready for :func:`spiralkit.pack`.
    """
    from spiralkit._arrays import from_user_array, to_user_array

    arr, kind = from_user_array(weight, "weight")
    if arr.ndim not in (2, 4):
        raise ValueError(
            f"weight: expected a 2-D (N, K) or 4-D (C_out, C_in/groups, kh, kw) array, got {arr.ndim}-D"
        )
    keep = pattern_mask(np.abs(arr), pattern, sparsity)
    pruned = np.where(keep, arr, np.float32(0)).astype(np.float32)
    return to_user_array(pruned, kind)
