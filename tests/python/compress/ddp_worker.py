"""Run by test_ddp.py under torchrun (2 CPU processes, gloo): a short spiral, then each rank
saves its masks and weights for the test to compare."""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, masks_of
from spiralkit.compress.masks import plain_state_dict
from spiralkit.compress.recipe import init_distributed
from spiralkit.compress.spiral import compress
from spiralkit.data import mnist
from spiralkit.data.zoo import build_model


def main(out: str) -> None:
    torch.set_num_threads(1)
    init_distributed(torch.device("cpu"))
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = build_model("mnist_cnn", width=4, hidden=16)
    train = mnist.loader("train", 32, limit=256)
    val = mnist.loader("val", 125)
    config = SpiralConfig(rounds=2, target_sparsity=0.8, tolerance=1.0, output_dir=f"{out}/run",
                          prune=PruneConfig(criterion="taylor", pattern="4x1", grad_batches=2),
                          distill=DistillConfig(loss="soft", max_batches=3, lr=3e-3))
    result = compress(model, config, train, val, progress=False, quiet=True)
    from safetensors.torch import save_file

    tensors = {f"mask.{k}": v.to(torch.uint8) for k, v in masks_of(model).items()}
    tensors.update({f"w.{k}": v.contiguous() for k, v in plain_state_dict(model).items()})
    tensors["accuracy"] = torch.tensor([r["metrics"]["accuracy"] for r in result.records])
    save_file(tensors, str(Path(out) / f"rank{rank}.safetensors"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
