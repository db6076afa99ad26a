"""MiniLM-L6 through the generic ``spiralkit.compress`` API (magnitude prune -> embedding distill).

The same teacher, text, patterns and evaluation as ``examples/minilm_compress.py``, but every
round goes through ``spiralkit.compress(model, SpiralConfig, train, val, teacher, evaluate=...)``:
``PruneConfig(criterion="magnitude")`` on all 36 encoder Linears, then
``DistillConfig(loss="embedding", embedding_metric="cosine")``. It is the baseline that shows what
the language case gains from the activation-aware layer-wise reconstruction and the hidden-state
hints of ``spiralkit.data.minilm_distill`` (which the generic API has no hook for), at a similar
number of distillation steps.

    PYTHONPATH=python python examples/minilm_compress_api.py --out runs/minilm_api
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import spiralkit
from spiralkit.compress.config import DistillConfig, PruneConfig, SpiralConfig
from spiralkit.data import minilm, text
from spiralkit.data import minilm_distill as D


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patterns", default="2:4,4x1")
    p.add_argument("--levels-4x1", default="0.5,0.6,0.7,0.8", help="evenly spaced: the spiral's linear schedule")
    p.add_argument("--train-sentences", type=int, default=0)
    p.add_argument("--val-sentences", type=int, default=400)
    p.add_argument("--test-sentences", type=int, default=0)
    p.add_argument("--steps-first", type=int, default=300, help="distillation batches of the single 2:4 round")
    p.add_argument("--steps", type=int, default=150, help="distillation batches of every 4x1 round (the API has one per-round budget)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--target", type=float, default=0.95)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--model-dir", default=None)
    p.add_argument("--splits-json", default=None, help="{train, val, test} sentence lists (see minilm_compress.py)")
    p.add_argument("--out", default="runs/minilm_api")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0, c0 = time.perf_counter(), time.process_time()

    device = torch.device(args.device)
    teacher = minilm.load_minilm(args.model_dir).to(device)
    for q in teacher.parameters():
        q.requires_grad_(False)
    tok = minilm.MiniLMTokenizer(args.model_dir)
    if args.splits_json:
        raw = json.loads(Path(args.splits_json).read_text(encoding="utf-8"))
        splits = text.TextSplits(train=raw["train"], val=raw["val"], test=raw["test"])
    else:
        splits = text.load_splits(["pydoc", "docstrings"])
    train = D.SentenceSet(splits.train[: args.train_sentences or None], tok, max_tokens=64, device=device)
    val = D.SentenceSet(splits.val[: args.val_sentences or None], tok, device=device).attach_teacher(teacher)
    test = D.SentenceSet(splits.test[: args.test_sentences or None], tok, device=device).attach_teacher(teacher)
    # Batches as the generic API takes them: dicts of tensors, model(**batch) -> embedding.
    train_batches = [train.batch(idx) for idx in train.length_batches(args.batch_size, shuffle=True, seed=0)]
    sets = {"val": val, "test": test}

    def evaluate(model, which):  # which: "val" or "test" (our own sentence sets, with teacher embeddings)
        data = sets[which]
        return D.agreement(D.embed(model, data), data.teacher)

    out = Path(args.out)
    summary = {"patterns": {}}
    for pat in [s.strip() for s in args.patterns.split(",") if s.strip()]:
        if ":" in pat:
            levels = [0.5]
        else:
            levels = [float(x) for x in args.levels_4x1.split(",")]
        rounds = len(levels)
        step = (levels[-1] - levels[0]) / (rounds - 1) if rounds > 1 else 0.0
        config = SpiralConfig(
            rounds=rounds,
            initial_sparsity=max(levels[0] - step, 0.0),
            target_sparsity=levels[-1],
            schedule="linear",
            teacher="original",
            tolerance=1.0 - args.target,  # round 0 (the teacher itself) scores mean cosine 1.0
            stop_on_drop=True,
            output_dir=str(out / pat.replace(":", "of")),
            prune=PruneConfig(criterion="magnitude", pattern=pat, skip_first=False, skip_last=False),
            distill=DistillConfig(loss="embedding", embedding_metric="cosine", lr=args.lr, optimizer="adam",
                                  epochs=1, max_batches=args.steps, primary_metric="mean_cosine"),
        )
        student = minilm.load_minilm(args.model_dir).to(device)
        # The API counts a round's training in epochs x max_batches over the batch list.
        steps = args.steps_first if rounds == 1 else args.steps
        config.distill.epochs = -(-steps // len(train_batches))
        config.distill.max_batches = -(-steps // config.distill.epochs)
        t_pat = time.perf_counter()
        result = spiralkit.compress(student, config, train_batches, "val", teacher=teacher, evaluate=evaluate,
                                    test_data="test", progress=False)
        summary["patterns"][pat] = {"records": result.records, "best_round": result.best_round,
                                    "seconds": time.perf_counter() - t_pat}
    summary["wall_seconds"] = time.perf_counter() - t0
    summary["cpu_seconds"] = time.process_time() - c0
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps({p: {"best_round": v["best_round"]} for p, v in summary["patterns"].items()}))
    print(f"wall {summary['wall_seconds']:.0f}s cpu {summary['cpu_seconds']:.0f}s; {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
