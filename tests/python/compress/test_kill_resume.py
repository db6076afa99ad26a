"""A spiral killed with SIGKILL mid-round resumes from its last checkpoint and ends exactly where
an uninterrupted run ends (same per-round metrics, same baseline, bit-identical weights)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from spiralkit.compress.checkpoint import load_tensors

WORKER = Path(__file__).with_name("kill_worker.py")
ROUNDS = 4


def _env():
    """The worker imports the spiralkit under test (a source tree or the installed wheel)."""
    import spiralkit

    env = dict(os.environ)
    package_parent = str(Path(spiralkit.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _worker(out, *extra, **kw):
    return subprocess.Popen([sys.executable, str(WORKER), str(out), *extra], env=_env(), **kw)


def _rounds_done(out: Path) -> int:
    try:
        return len(json.loads((out / "checkpoint" / "state.json").read_text())["records"]) - 1
    except (OSError, ValueError, KeyError):
        return -1


def _numbers(out: Path):
    written = json.loads((out / "rounds.json").read_text())

    def strip(record):
        return {k: v for k, v in record.items() if k != "wall_s"}

    return [strip(r) for r in written["rounds"]], strip(written["baseline"])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_round_then_resume_matches_an_uninterrupted_run(tmp_path):
    reference = _worker(tmp_path / "reference")
    killed_dir = tmp_path / "killed"
    victim = _worker(killed_dir, "--slow", "0.03")
    deadline = time.monotonic() + 300
    while _rounds_done(killed_dir) < 2 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.15)  # into round 3 (12 batches x 30 ms)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(60) == -signal.SIGKILL
    done = _rounds_done(killed_dir)
    assert 2 <= done < ROUNDS, f"the kill should land mid-run, after round 2 (rounds done: {done})"
    before = json.loads((killed_dir / "checkpoint" / "state.json").read_text())["records"]
    assert _worker(killed_dir, "--resume").wait(300) == 0
    # The finished rounds were taken from the checkpoint (wall times and all), not run again.
    assert json.loads((killed_dir / "rounds.json").read_text())["rounds"][: done + 1] == before
    assert reference.wait(300) == 0

    rounds, baseline = _numbers(killed_dir)
    ref_rounds, ref_baseline = _numbers(tmp_path / "reference")
    assert [r["round"] for r in rounds] == list(range(ROUNDS + 1))
    assert rounds == ref_rounds and baseline == ref_baseline
    for name in ("student", "best"):
        got = load_tensors(killed_dir / "checkpoint" / f"{name}.safetensors")
        want = load_tensors(tmp_path / "reference" / "checkpoint" / f"{name}.safetensors")
        assert got.keys() == want.keys()
        for key in want:
            assert torch.equal(got[key], want[key]), key
