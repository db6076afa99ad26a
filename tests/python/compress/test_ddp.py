"""The same spiral under torchrun with 2 CPU processes (gloo) gives the same masks on both ranks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("mlxtend")


def test_two_process_torchrun_gives_identical_masks(tmp_path):
    from safetensors.torch import load_file

    worker = Path(__file__).with_name("ddp_worker.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[3] / "python"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(worker), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    masks = [k for k in ranks[0] if k.startswith("mask.")]
    assert masks, "no masked layer"
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    for key in masks:
        assert 0.75 < 1 - ranks[0][key].float().mean().item() < 0.85
    assert (tmp_path / "run" / "rounds.json").exists()
