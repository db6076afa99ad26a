"""MiniLM-L6 through ``spiralkit.compress`` from Python, no recipe: the configs written out in code.

The same pipeline as ``examples/minilm_compress.py examples/recipes/minilm/minilm_2x4.toml``: sparsegpt
prunes the 36 encoder Linears to 2:4 from calibration sentences, then the student distills the
teacher's sentence embedding (1 - cos) and every layer's hidden states (normalised MSE), and is
evaluated on held-out sentences (mean cosine and top-1 retrieval agreement). Small by default
(a few minutes on 2 cores); raise ``--steps`` and the sentence counts for a real run.

    PYTHONPATH=python python examples/minilm_compress_api.py --pattern 2:4 --sparsity 0.5 --steps 100
"""

from __future__ import annotations

import argparse
import sys

import torch

import spiralkit
from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig
from spiralkit.compress.agreement import agreement_evaluator
from spiralkit.data import text
from spiralkit.data.minilm import MiniLMTokenizer, SentenceSet
from spiralkit.models.minilm import hidden_state_hints, load_minilm


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pattern", default="2:4")
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--criterion", default="sparsegpt")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--steps", type=int, default=100, help="distillation steps per round")
    p.add_argument("--train-sentences", type=int, default=2000)
    p.add_argument("--val-sentences", type=int, default=200)
    p.add_argument("--test-sentences", type=int, default=400)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="runs/minilm_api")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    teacher, student = load_minilm(), load_minilm()
    for q in teacher.parameters():
        q.requires_grad_(False)
    for q in student.embeddings.parameters():  # not pruned; training them only costs time
        q.requires_grad_(False)
    tok = MiniLMTokenizer()
    splits = text.load_splits(["pydoc", "docstrings"])
    train = SentenceSet(splits.train[: args.train_sentences], tok, max_tokens=64).batches(32, shuffle=True)
    evaluate = agreement_evaluator(teacher, {
        "val": SentenceSet(splits.val[: args.val_sentences], tok).batches(64),
        "test": SentenceSet(splits.test[: args.test_sentences], tok).batches(64),
    })
    config = SpiralConfig(
        rounds=args.rounds, initial_sparsity=0.0 if args.rounds > 1 else args.sparsity,
        target_sparsity=args.sparsity, schedule="cubic", tolerance=0.05, stop_on_drop=False,
        round_steps=args.steps, output_dir=args.out,
        prune=PruneConfig(criterion=args.criterion, pattern=args.pattern, skip_first=False, skip_last=False),
        distill=DistillConfig(loss="embedding", embedding_metric="cosine", hints=hidden_state_hints(student),
                              hint_loss="normalized", lr=5e-4, lr_schedule="cosine", primary_metric="mean_cosine"),
    )
    result = spiralkit.compress(student, config, train, "val", teacher=teacher, evaluate=evaluate,
                                test_data="test", progress=False)
    final = result.records[-1]
    print(f"round {final['round']}: sparsity {final['sparsity_pruned_layers']:.3f}, "
          f"val cosine {final['metrics']['mean_cosine']:.4f}, test cosine {final['test_metrics']['mean_cosine']:.4f}, "
          f"test top-1 agreement {final['test_metrics']['retrieval_top1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
