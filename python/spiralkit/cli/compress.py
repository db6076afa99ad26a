"""``spiralkit compress recipe.toml [--resume]``: run a spiral-compression recipe: a model recipe
(``[model]``/``[data]``, ``spiralkit.compress.recipe``) or a sentence-encoder recipe (``[text]``,
MiniLM-L6, ``spiralkit.compress.text_recipe``)."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("compress", help="spiral-compress a model as a TOML recipe says")
    parser.add_argument("recipe", help="recipe.toml (see spiralkit.compress.recipe)")
    parser.add_argument("--resume", action="store_true", help="continue after the last finished round")
    parser.add_argument("--output-dir", help="override spiral.output_dir")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--check", action="store_true", help="only validate the recipe against the model")
    parser.set_defaults(func=run)
    return parser


def run_text(args) -> int:
    import dataclasses

    from spiralkit.compress.text_recipe import check_text_recipe, load_text_recipe, run_text_recipe, summary_line

    config, spec = load_text_recipe(args.recipe)
    if args.output_dir:
        config = dataclasses.replace(config, output_dir=args.output_dir)
    check_text_recipe(config)
    if args.check:
        print(f"{args.recipe}: ok")
        return 0
    _, summary = run_text_recipe(config, spec, resume=args.resume, progress=not args.no_progress,
                                 command=f"spiralkit compress {args.recipe}")
    print(summary_line(summary, config.output_dir))
    return 0


def run(args) -> int:
    from spiralkit.compress.recipe import load_recipe, prepare, run_recipe
    from spiralkit.compress.text_recipe import is_text_recipe

    if is_text_recipe(args.recipe):
        return run_text(args)

    recipe = load_recipe(args.recipe)
    if args.output_dir:
        recipe.spiral.output_dir = args.output_dir
    if args.check:
        prepare(recipe)
        print(f"{args.recipe}: ok")
        return 0
    from spiralkit.compress.batches import world

    result, _ = run_recipe(recipe, resume=args.resume, progress=not args.no_progress)
    if world()[0] == 0:  # under torchrun, one report
        print(f"kept round {result.best_round}; results in {result.output_dir}/ (rounds.json, rounds.png, checkpoint/)")
        if result.baseline is not None:
            primary = recipe.spiral.distill.primary_metric
            last, base = result.records[-1], result.baseline
            print(f"same {base['train_steps']} steps: spiral round {last['round']} {primary} "
                  f"{last['metrics'][primary]:.4f} at {last['sparsity_pruned_layers']:.1%}; one-shot + fine-tune "
                  f"{base['metrics'][primary]:.4f} at {base['sparsity_pruned_layers']:.1%}")
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0
