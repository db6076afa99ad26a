"""A recipe: everything ``spiralkit compress recipe.toml`` needs (model, data, spiral config).

    version = 1
    [model]
    name = "mnist_cnn"        # a spiralkit.data.zoo model
    weights = ""              # trained weights (safetensors); empty: train the teacher first
    train_epochs = 5
    [data]
    name = "mnist"
    batch_size = 64
    [spiral]                  # SpiralConfig; [spiral.prune] PruneConfig, [spiral.distill] DistillConfig
    rounds = 5
    target_sparsity = 0.95

Everything is validated, the model built and the pattern checked against every layer before any
training starts. Under ``torchrun`` each rank runs the same recipe (DDP; gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

from spiralkit.compress.config import CONFIG_VERSION, DistillConfig, SpiralConfig, _TomlMixin, _version

DATASETS = ("mnist",)


@dataclass
class ModelSpec(_TomlMixin):
    name: str = "mnist_cnn"
    weights: str = ""
    train_epochs: int = 5
    train_lr: float = 2e-3
    _KEY_PREFIX: typing.ClassVar[str] = "model."

    def validate(self) -> None:
        from spiralkit.data.zoo import MODELS

        self.check_types()
        if self.name not in MODELS:
            raise ValueError(f"model.name: unknown '{self.name}'; known: {', '.join(sorted(MODELS))}")
        if self.weights and not Path(self.weights).is_file():
            raise ValueError(f"model.weights: no file '{self.weights}'")
        if self.train_epochs < 0:
            raise ValueError(f"model.train_epochs: expected >= 0, got {self.train_epochs}")


@dataclass
class DataSpec(_TomlMixin):
    name: str = "mnist"
    batch_size: int = 64
    limit: int = 0  # > 0: only the first `limit` training images (quick runs)
    _KEY_PREFIX: typing.ClassVar[str] = "data."

    def validate(self) -> None:
        self.check_types()
        if self.name not in DATASETS:
            raise ValueError(f"data.name: unknown '{self.name}'; known: {', '.join(DATASETS)}")
        if self.batch_size < 1 or self.limit < 0:
            raise ValueError("data.batch_size must be >= 1 and data.limit >= 0")


@dataclass
class Recipe(_TomlMixin):
    version: int = CONFIG_VERSION
    device: str = "auto"  # auto: cuda when available (one GPU per rank), else cpu
    threads: int = 0  # torch threads per process; 0 = torch's default
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    spiral: SpiralConfig = field(default_factory=SpiralConfig)

    def validate(self) -> None:
        self.check_types()  # every key of the recipe, nested tables included, before anything else
        _version("recipe", self.version)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: expected auto, cpu or cuda, got '{self.device}'")
        self.model.validate()
        self.data.validate()
        self.spiral.validate()


def load_recipe(path: "str | Path") -> Recipe:
    try:
        return Recipe.from_toml(path)
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such recipe file") from exc


def _device(recipe: Recipe):
    import torch

    want = recipe.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def init_distributed(device) -> bool:
    """Join the torchrun process group when launched by torchrun (WORLD_SIZE > 1)."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    return True


def prepare(recipe: Recipe):
    """Build the model and check the recipe against it -- before any data is read or trained on."""
    import torch

    from spiralkit.compress.checkpoint import load_model
    from spiralkit.compress.pruner import check_model
    from spiralkit.data.zoo import build_model

    recipe.validate()
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.spiral.seed)
    model = build_model(recipe.model.name)
    check_model(model, recipe.spiral.prune, max_sparsity=recipe.spiral.target_sparsity)
    if recipe.model.weights:
        load_model(model, recipe.model.weights)
    return model


def loaders(recipe: Recipe):
    from spiralkit.data import mnist

    d = recipe.data
    return (mnist.loader("train", d.batch_size, seed=recipe.spiral.seed, limit=d.limit),
            mnist.loader("val", 256), mnist.loader("test", 256))


def run_recipe(recipe: Recipe, *, resume: bool = False, progress: bool = True):
    """Teacher (trained unless weights are given; saved for --resume) -> spiral. Returns
    (SpiralResult, teacher)."""
    from spiralkit.compress import batches as B
    from spiralkit.compress.checkpoint import load_model, save_model
    from spiralkit.compress.distill import copy_model, distill
    from spiralkit.compress.spiral import compress

    model = prepare(recipe)
    device = _device(recipe)
    init_distributed(device)
    model.to(device)
    train, val, test = loaders(recipe)
    out = Path(recipe.spiral.output_dir)
    teacher_path = out / "teacher.safetensors"
    if not recipe.model.weights:
        if resume and teacher_path.exists():
            load_model(model, teacher_path)
        else:
            cfg = DistillConfig(loss="task", epochs=recipe.model.train_epochs, lr=recipe.model.train_lr,
                                seed=recipe.spiral.seed)
            distill(model, None, cfg, train, None, progress=progress, desc="teacher")
            if B.world()[0] == 0:
                save_model(model, teacher_path)
    teacher = copy_model(model)
    result = compress(model, recipe.spiral, train, val, teacher=teacher, test_data=test, resume=resume,
                      progress=progress)
    return result, teacher
