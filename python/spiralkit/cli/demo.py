"""``spiralkit demo``: train a small CNN on the bundled MNIST subset, spiral-compress it, print
the rounds and a final teacher-vs-student table (latency included), and write the plot.
A few minutes on 2 CPU cores."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help="MNIST: teacher -> spiral compression -> table and plot")
    parser.add_argument("--output-dir", default="runs/demo")
    parser.add_argument("--pattern", default="unstructured", help="unstructured, 4x1, 2:4, ...")
    parser.add_argument("--target", type=float, default=0.95, help="target sparsity of the pruned layers")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--teacher-epochs", type=int, default=4)
    parser.add_argument("--epochs-per-round", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all 3,500)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)
    return parser


def demo_recipe(args):
    from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig
    from spiralkit.compress.recipe import DataSpec, ModelSpec, Recipe

    return Recipe(
        device="cpu", threads=args.threads,
        model=ModelSpec(name="mnist_cnn", train_epochs=args.teacher_epochs),
        data=DataSpec(name="mnist", batch_size=64, limit=args.limit),
        spiral=SpiralConfig(
            rounds=args.rounds, target_sparsity=args.target, schedule="cubic", teacher="original",
            tolerance=0.01, output_dir=args.output_dir,
            prune=PruneConfig(criterion="magnitude", pattern=args.pattern, allocation="global"),
            distill=DistillConfig(loss="soft", temperature=4.0, alpha=0.9, epochs=args.epochs_per_round, lr=1e-3),
        ),
    )


def final_table(result, teacher, example) -> str:
    """Teacher vs kept student: accuracy, sparsity, size and latency (dense PyTorch for both, and
    the student on spiralkit's kernels, same threads, same run)."""
    import copy

    from spiralkit.compress.latency import spiralkit_latency, torch_latency
    from spiralkit.compress.masks import strip_masks

    first, best = result.records[0], result.best
    t_lat = torch_latency(teacher, example)
    s_lat = torch_latency(strip_masks(copy.deepcopy(result.model)), example)  # plain dense weights, zeros in
    k_lat = spiralkit_latency(result.model, example)

    def kib(nbytes):
        return "-" if nbytes is None else f"{nbytes / 1024:.1f}"

    def ms(lat):
        return "-" if lat is None else f"{lat['median_ms']:.2f} / {lat['min_ms']:.2f}"

    rows = [
        ("", "teacher", "student"),
        ("val accuracy", f"{first['metrics']['accuracy']:.4f}", f"{best['metrics']['accuracy']:.4f}"),
        ("test accuracy", f"{first.get('test_accuracy', float('nan')):.4f}", f"{best.get('test_accuracy', float('nan')):.4f}"),
        ("sparsity (pruned layers)", "0.0%", f"{best['sparsity_pruned_layers']:.1%}"),
        ("non-zero params", f"{first['params_nonzero']:,}", f"{best['params_nonzero']:,}"),
        ("packed size (KiB)", kib(first["packed_bytes"]), kib(best["packed_bytes"])),
        ("MFLOPs / image", f"{first['flops'] / 1e6:.3f}", f"{best['flops'] / 1e6:.3f}"),
        (f"latency median / min, PyTorch dense (ms, batch {len(example)})", ms(t_lat), ms(s_lat)),
        ("latency median / min, spiralkit kernels (ms)", "-", ms(k_lat)),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, width))) for r in rows)


def run(args) -> int:
    from spiralkit.compress.recipe import run_recipe

    recipe = demo_recipe(args)
    result, teacher = run_recipe(recipe, progress=not args.no_progress)
    import torch

    from spiralkit.data import mnist

    example = torch.from_numpy(mnist.load("test")[0][:64].copy())
    print()
    print(final_table(result, teacher, example))
    print(f"\nplot: {result.output_dir}/rounds.png   rounds: {result.output_dir}/rounds.json")
    return 0
