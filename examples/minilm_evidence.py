"""Collect the ``summary.json`` of MiniLM runs (``examples/minilm_compress.py``) into one JSON and a
Markdown table: per pattern, the spiral's final round and the one-shot run side by side.

    PYTHONPATH=python python examples/minilm_evidence.py runs/minilm_evidence --json examples/minilm_evidence.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def _row(summary: dict) -> dict:
    final = summary["final_round"]
    return {
        "pattern": summary["pattern"],
        "target_sparsity": summary["target_sparsity"],
        "method": "one-shot " + summary["criterion"] if summary["one_shot"] else "spiral " + summary["criterion"],
        "seed": summary["seed"],
        "sparsity": final.get("sparsity_pruned_layers", 0.0),
        "model_sparsity": final.get("sparsity_model", 0.0),
        "steps": summary["train_steps"],
        "val_cosine": final["metrics"]["mean_cosine"],
        "test_cosine": final["test_metrics"]["mean_cosine"],
        "test_top1": final["test_metrics"]["retrieval_top1"],
        "test_sentences": final["test_metrics"]["sentences"],
        "cpu_s": summary["cpu_s"],
        "wall_s": summary["wall_s"],
        "command": summary["command"],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", help="a folder holding one sub-folder per run, each with summary.json")
    p.add_argument("--json", default=None, help="write the rows here")
    args = p.parse_args(argv)
    rows = [_row(json.loads(f.read_text())) for f in sorted(Path(args.runs).glob("*/summary.json"))]
    if not rows:
        print(f"no */summary.json under {args.runs}", file=sys.stderr)
        return 1
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["pattern"], r["target_sparsity"], r["method"]), []).append(r)
    print("| pattern | sparsity | method | seeds | train steps | val cosine | test cosine | test top-1 agreement | CPU s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (pattern, target, method), rs in sorted(groups.items()):
        def stat(key):
            vals = [r[key] for r in rs]
            mean = statistics.fmean(vals)
            return f"{mean:.4f}" + (f" ± {statistics.stdev(vals):.4f}" if len(vals) > 1 else "")

        print(f"| {pattern} | {statistics.fmean(r['sparsity'] for r in rs):.1%} | {method} | {len(rs)} | "
              f"{rs[0]['steps']} | {stat('val_cosine')} | {stat('test_cosine')} | {stat('test_top1')} | "
              f"{statistics.fmean(r['cpu_s'] for r in rs):.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
