"""The issue's speed targets, checked against `spiralkit bench kernels --json` results.

    python -m spiralkit.bench.targets results.json

Each target row lists the measured ratio (torch dense / spiralkit, same run) per shape; a row is
met when every shape meets it. Patterns "4x1 or 8x1" take the better of the two per shape.
"""

from __future__ import annotations

import json
import sys

# (label, case-name prefix, patterns (best of), {sparsity: minimum ratio})
TARGETS = [
    ("BERT linear, 128 rows, 4x1 or 8x1", ("bert-",), "-m128", ("4x1", "8x1"), {0.8: 4.0, 0.9: 7.0, 0.95: 10.0}),
    ("BERT linear, 1 row (GEMV), 4x1", ("bert-",), "-m1", ("4x1",), {0.8: 3.5, 0.9: 6.0, 0.95: 9.0}),
    ("BERT linear, 128 rows, unstructured", ("bert-",), "-m128", ("unstructured",), {0.8: 2.5, 0.9: 3.5, 0.95: 5.5}),
    ("MobileNet-v2 pointwise conv, 4x1", ("mbv2-pw-",), "", ("4x1",), {0.8: 3.0, 0.9: 5.0, 0.95: 7.0}),
    ("ResNet-50 3x3 conv, 4x1", ("resnet-3x3-",), "", ("4x1",), {0.8: 2.5, 0.9: 4.0, 0.95: 5.0}),
]


def check(results: list[dict]) -> list[str]:
    lines = []
    for label, prefixes, suffix, patterns, goals in TARGETS:
        for sp, goal in goals.items():
            per_case = {}
            for r in results:
                if not r["case"].startswith(prefixes) or (suffix and not r["case"].endswith(suffix)):
                    continue
                if r["pattern"] in patterns and abs(r["sparsity"] - sp) < 1e-9:
                    per_case[r["case"]] = max(per_case.get(r["case"], 0.0), r["ratio_vs_torch_dense"])
            if not per_case:
                continue
            met = all(v >= goal for v in per_case.values())
            shown = ", ".join(f"{k}={v:.2f}" for k, v in per_case.items())
            lines.append(f"{'MET ' if met else 'MISS'} {label} @ {sp:.0%} >= {goal}x: {shown}")
    fifty = [r for r in results if abs(r["sparsity"] - 0.5) < 1e-9]
    if fifty:
        worst = min(fifty, key=lambda r: r["ratio_vs_torch_dense"])
        met = worst["ratio_vs_torch_dense"] >= 1.0
        lines.append(f"{'MET ' if met else 'MISS'} any shape, any pattern @ 50% >= 1.0x: worst "
                     f"{worst['case']} {worst['pattern']} = {worst['ratio_vs_torch_dense']:.2f} ({len(fifty)} cases)")
    return lines


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        data = json.load(f)
    print("\n".join(check(data["results"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
