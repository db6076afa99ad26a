"""Evidence: spiral compression vs one-shot prune + fine-tune vs gradual magnitude pruning (GMP),
on the SAME total optimiser steps, on the bundled MNIST subset (3,500 train / 500 val / 1,000 test).

For every seed a teacher is trained (cached in --out), then for every pattern=sparsity case and
every criterion, from that teacher, all through ``spiralkit.compress``:
  spiral          : rounds of prune (cubic schedule) -> soft distillation from the teacher
  one-shot (KD)   : prune to the target at once, then the same soft distillation for all the steps
                    (``SpiralConfig.baseline``: the spiral run's own control)
  gmp             : the spiral's schedule and steps, labels only (no teacher)
  one-shot (task) : prune at once, fine-tune on labels for all the steps (the GMP run's control)
Every method: same criterion, allocation, optimiser, learning rate and total steps. Each cell
(case x criterion x seed) is written to --out/cells/*.json as it finishes, and finished cells are
skipped, so an interrupted run continues where it stopped. ``--merge`` prints the table:

    PYTHONPATH=python python examples/mnist_spiral_vs_baselines.py --seeds 0 1 2 3 4 --out runs/ev
    PYTHONPATH=python python examples/mnist_spiral_vs_baselines.py --merge runs/ev
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, classification_metrics, distill
from spiralkit.compress.checkpoint import load_model, save_model
from spiralkit.compress.distill import copy_model
from spiralkit.compress.spiral import compress
from spiralkit.data import mnist, zoo

TARGETS = ["unstructured=0.98", "unstructured=0.99", "unstructured=0.995", "4x1=0.95", "4x1=0.98"]
METHODS = ("spiral", "one-shot-kd", "gmp", "one-shot-task")


def teacher_for(seed: int, args) -> torch.nn.Module:
    path = Path(args.teacher_dir or args.out) / f"teacher-{args.model}-h{args.hidden}-e{args.teacher_epochs}-s{seed}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = zoo.build_model(args.model, **({"hidden": args.hidden} if args.hidden else {}))
    if path.exists():
        return load_model(model, path)
    cfg = DistillConfig(loss="task", epochs=args.teacher_epochs, lr=2e-3, seed=seed)
    distill(model, None, cfg, mnist.loader("train", seed=seed), progress=False)
    save_model(model, path)
    return model


def allocation_for(criterion: str, args) -> str:
    """Global ranking where the criterion allows it; sparsegpt prunes layer by layer (uniform)."""
    if args.allocation != "auto":
        return args.allocation
    return "uniform" if criterion == "sparsegpt" else "global"


def spiral_config(args, pattern: str, target: float, criterion: str, seed: int, loss: str, out: Path,
                  baseline: bool = True) -> SpiralConfig:
    return SpiralConfig(
        rounds=args.rounds, target_sparsity=target, schedule="cubic", teacher="original",
        stop_on_drop=False, tolerance=1.0, seed=seed, round_steps=args.round_steps, final_steps=args.final_steps,
        recovery_lr_schedule=args.recovery_lr, baseline=baseline, output_dir=str(out),
        prune=PruneConfig(criterion=criterion, pattern=pattern, allocation=allocation_for(criterion, args),
                          skip_first=False,
                          max_layer_sparsity=0.999, seed=seed),
        distill=DistillConfig(loss=loss, lr=args.lr, lr_schedule=args.lr_schedule, temperature=4.0,
                              alpha=args.alpha, seed=seed),
    )


def run_cell(teacher, pattern: str, target: float, criterion: str, seed: int, args) -> dict:
    """Spiral (+ its one-shot KD control) and GMP (+ its one-shot label control) for one cell."""
    rows = {}
    train = mnist.loader("train", seed=seed + 100)
    val, test = mnist.loader("val", 500), mnist.loader("test", 1000)
    for method, loss in (("spiral", "soft"), ("gmp", "task")):
        if method not in args.methods:
            continue
        started = time.perf_counter()
        student = copy_model(teacher)
        for p in student.parameters():
            p.requires_grad_(True)
        student.train()
        out = Path(args.out) / "runs" / f"{method}-{pattern}-{target}-{criterion}-s{seed}"
        with_control = method == "spiral" or args.task_control is None or f"{pattern}={target}" in args.task_control
        cfg = spiral_config(args, pattern, target, criterion, seed, loss, out, with_control)
        result = compress(student, cfg, train, val, teacher=teacher, test_data=test, progress=False, quiet=True)
        last = dict(result.records[-1], train_steps=sum(r["train_steps"] for r in result.records[1:]))
        control = "one-shot-kd" if method == "spiral" else "one-shot-task"
        for name, rec in ((method, last), (control, result.baseline))[:2 if with_control else 1]:
            rows[name] = {"val_accuracy": rec["metrics"]["accuracy"], "test_accuracy": rec["test_accuracy"],
                          "sparsity_pruned_layers": rec["sparsity_pruned_layers"],
                          "sparsity_model": rec["sparsity_model"], "train_steps": rec["train_steps"]}
        rows[method]["wall_s"] = time.perf_counter() - started
    return rows


def cell_path(args, pattern, target, criterion, seed) -> Path:
    return Path(args.out) / "cells" / f"{pattern}-{target}-{criterion}-s{seed}.json"


def load_cells(out: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((Path(out) / "cells").glob("*.json"))]


def summarize(cells: list[dict], metric: str = "test_accuracy") -> str:
    def ms(values):
        mean = 100 * statistics.mean(values)
        std = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{mean:.2f} ± {std:.2f}"

    teachers = {c["seed"]: c["teacher_test_accuracy"] for c in cells}
    lines = [f"teacher test accuracy: {ms(list(teachers.values()))} % (seeds {sorted(teachers)})", "",
             f"| pattern | target | criterion | method | n | sparsity (pruned layers) | steps | {metric.replace('_', ' ')} % |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    keys = list(dict.fromkeys((c["pattern"], c["target"], c["criterion"]) for c in cells))
    keys.sort(key=lambda k: (k[0] != "unstructured", k[1], k[2]))
    for pattern, target, criterion in keys:
        sel = [c for c in cells if (c["pattern"], c["target"], c["criterion"]) == (pattern, target, criterion)]
        for method in METHODS:
            rows = [c["rows"][method] for c in sel if method in c["rows"]]
            if rows:
                lines.append(f"| {pattern} | {target} | {criterion} | {method} | {len(rows)} | "
                             f"{statistics.mean(r['sparsity_pruned_layers'] for r in rows):.4f} | "
                             f"{rows[0]['train_steps']} | {ms([r[metric] for r in rows])} |")
    return "\n".join(lines)


def best_gaps(cells: list[dict], metric: str = "test_accuracy") -> str:
    """Per case: best spiral (over criteria) minus best one-shot (over criteria and losses)."""
    lines = ["| pattern | target | best spiral | best one-shot | gap (pts) |", "| --- | --- | --- | --- | --- |"]
    cases = sorted({(c["pattern"], c["target"]) for c in cells}, key=lambda k: (k[0] != "unstructured", k[1]))
    for pattern, target in cases:
        sel = [c for c in cells if (c["pattern"], c["target"]) == (pattern, target)]
        means = {}
        for crit in {c["criterion"] for c in sel}:
            for method in METHODS:
                vals = [c["rows"][method][metric] for c in sel if c["criterion"] == crit and method in c["rows"]]
                if vals:
                    means[(method, crit)] = 100 * statistics.mean(vals)
        spiral = max(((v, k) for k, v in means.items() if k[0] == "spiral"), default=None)
        one = max(((v, k) for k, v in means.items() if k[0].startswith("one-shot")), default=None)
        if spiral and one:
            lines.append(f"| {pattern} | {target} | {spiral[0]:.2f} ({spiral[1][1]}) | {one[0]:.2f} "
                         f"({one[1][0]}, {one[1][1]}) | {spiral[0] - one[0]:+.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--model", default="mnist_mlp", help="a spiralkit.data.zoo model")
    ap.add_argument("--hidden", type=int, default=0, help="the model's hidden width (0: the zoo default)")
    ap.add_argument("--teacher-epochs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--round-steps", type=int, default=40, help="optimiser steps per spiral/GMP round")
    ap.add_argument("--final-steps", type=int, default=300, help="extra steps of the last round (recovery)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-schedule", default="cosine", help="per round: constant or cosine (warm restarts)")
    ap.add_argument("--recovery-lr", default="", help="the last round's schedule; empty: as --lr-schedule")
    ap.add_argument("--alpha", type=float, default=0.9, help="spiral and one-shot KD: weight of the KD term")
    ap.add_argument("--criteria", nargs="+", default=["magnitude"])
    ap.add_argument("--targets", nargs="+", default=TARGETS, help="pattern=sparsity cases")
    ap.add_argument("--methods", nargs="+", default=["spiral", "gmp"],
                    help="spiral (+ its one-shot KD control) and/or gmp (+ its one-shot label control)")
    ap.add_argument("--task-control", nargs="*", default=None,
                    help="run one-shot + fine-tune on labels only for these pattern=sparsity cases (default: all)")
    ap.add_argument("--allocation", default="auto", help="auto: global, uniform for sparsegpt")
    ap.add_argument("--teacher-dir", default="", help="where teachers are cached (default --out)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/evidence")
    ap.add_argument("--merge", help="only print the tables of an earlier --out folder")
    args = ap.parse_args()
    if args.merge:
        cells = load_cells(args.merge)
        print(summarize(cells) + "\n\n" + best_gaps(cells) + "\n\nvalidation:\n\n" + summarize(cells, "val_accuracy"))
        return
    torch.set_num_threads(args.threads)
    Path(args.out, "cells").mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items()
                if k not in ("seeds", "criteria", "targets", "merge", "threads", "teacher_dir", "out")}
    for seed in args.seeds:
        teacher = None
        for case in args.targets:
            pattern, target = case.split("=")
            for criterion in args.criteria:
                path = cell_path(args, pattern, float(target), criterion, seed)
                if path.exists():
                    continue
                if teacher is None:
                    teacher = teacher_for(seed, args)
                    teacher_acc = classification_metrics(teacher, mnist.loader("test", 1000))["accuracy"]
                rows = run_cell(teacher, pattern, float(target), criterion, seed, args)
                cell = {"pattern": pattern, "target": float(target), "criterion": criterion, "seed": seed,
                        "teacher_test_accuracy": teacher_acc, "settings": settings, "rows": rows}
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(cell, indent=2))
                tmp.replace(path)
                print(json.dumps({k: cell[k] for k in ("pattern", "target", "criterion", "seed")}
                                 | {m: round(r["test_accuracy"], 4) for m, r in rows.items()}), flush=True)
    print(summarize(load_cells(args.out)))


if __name__ == "__main__":
    main()
