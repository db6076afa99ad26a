"""`spiralkit bench kernels`: each op at real layer shapes against torch dense, same run, same threads."""

from __future__ import annotations

import argparse

from spiralkit.bench.kernels import DEFAULT_PATTERNS, DEFAULT_SPARSITIES


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("bench", help="benchmark kernels against torch dense (needs torch)")
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    k = sub.add_parser("kernels", help="sparse linear/conv kernels at BERT, ResNet-50 and MobileNet-v2 shapes")
    k.add_argument("--threads", type=int, default=2, help="threads for spiralkit and torch (default 2)")
    k.add_argument("--pattern", default=",".join(DEFAULT_PATTERNS),
                   help="comma-separated patterns (default %(default)s)")
    k.add_argument("--sparsity", default=",".join(str(s) for s in DEFAULT_SPARSITIES),
                   help="comma-separated sparsities; 0 runs the dense pattern (default %(default)s)")
    k.add_argument("--shapes", default=None,
                   help="comma-separated case names, prefixes or groups: bert, resnet, mbv2, 3x3, 1x1, pointwise, "
                        "m1, m16, m128 (default: all)")
    k.add_argument("--rounds", type=int, default=20, help="alternating A/B rounds per case (default 20)")
    k.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    k.set_defaults(func=run)
    return parser


def run(args) -> int:
    from spiralkit.bench import kernels

    if args.threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {args.threads}")
    patterns = tuple(p.strip() for p in args.pattern.split(",") if p.strip())
    try:
        sparsities = tuple(float(s) for s in args.sparsity.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--sparsity: expected comma-separated numbers in [0, 1), got {args.sparsity!r}") from None
    if any(not 0.0 <= s < 1.0 for s in sparsities):
        raise ValueError(f"--sparsity: values must be in [0, 1), got {args.sparsity!r}")
    kernels.run(shapes=args.shapes, patterns=patterns, sparsities=sparsities, threads=args.threads,
                rounds=args.rounds, json_path=args.json)
    return 0
