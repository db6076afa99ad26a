"""Real layer shapes for the kernel benchmarks (BENCHMARKS.md): BERT-base linear layers, ResNet-50
1x1 and 3x3 convolutions, MobileNet-v2 pointwise convolutions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    op: str  # "linear" or "conv2d"
    n_out: int
    k_in: int
    rows: int = 1  # linear: activation rows
    hw: int = 0  # conv: input height = width
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: tuple[str, ...] = ()

    def flops(self) -> float:
        """Dense-equivalent FLOPs (2 per multiply-add)."""
        if self.op == "linear":
            return 2.0 * self.rows * self.n_out * self.k_in
        out = (self.hw + 2 * self.padding - self.kernel) // self.stride + 1
        return 2.0 * out * out * self.n_out * self.k_in * self.kernel * self.kernel


def _cases() -> list[Case]:
    cases = []
    for n, k in ((768, 768), (3072, 768), (768, 3072)):
        for rows in (1, 16, 128):
            cases.append(Case(f"bert-{k}to{n}-m{rows}", "linear", n, k, rows=rows, groups=("bert", f"m{rows}")))
    for c, hw in ((64, 56), (128, 28), (256, 14), (512, 7)):
        cases.append(Case(f"resnet-3x3-{c}-{hw}", "conv2d", c, c, hw=hw, kernel=3, padding=1, groups=("resnet", "3x3")))
        cases.append(Case(f"resnet-1x1-{c}to{4 * c}-{hw}", "conv2d", 4 * c, c, hw=hw, groups=("resnet", "1x1")))
    for cin, cout, hw in ((96, 576, 28), (160, 960, 7), (32, 192, 56), (576, 96, 14), (960, 160, 7)):
        cases.append(Case(f"mbv2-pw-{cin}to{cout}-{hw}", "conv2d", cout, cin, hw=hw, groups=("mbv2", "pointwise")))
    return cases


CASES = _cases()


def select(spec: str | None) -> list[Case]:
    """Comma-separated case names, name prefixes or groups (bert, resnet, mbv2, 3x3, m128...); None = all."""
    if not spec:
        return list(CASES)
    keys = [s.strip() for s in spec.split(",") if s.strip()]
    out = [c for c in CASES if any(k == c.name or c.name.startswith(k) or k in c.groups for k in keys)]
    if not out:
        raise ValueError(f"shapes: no case matches {spec!r}; known: {', '.join(c.name for c in CASES)}")
    return out
