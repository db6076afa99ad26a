"""Per-round sparsity schedules: ``schedule(round, rounds, initial, final) -> sparsity``.

``round`` counts from 1; the last round always reaches ``final``. ``cubic`` is Zhu & Gupta
(2017): prune fast while many redundant weights remain, slowly near the target.
"""

from __future__ import annotations

from spiralkit.compress.registry import SCHEDULES


def _progress(round_index: int, rounds: int) -> float:
    if rounds < 1:
        raise ValueError(f"rounds: expected >= 1, got {rounds}")
    if not 1 <= round_index <= rounds:
        raise ValueError(f"round: expected 1..{rounds}, got {round_index}")
    return round_index / rounds


@SCHEDULES.register("constant")
def constant(round_index: int, rounds: int, initial: float, final: float) -> float:
    """The same fraction of the remaining weights pruned every round: density decays
    geometrically from ``1 - initial`` to ``1 - final``."""
    t = _progress(round_index, rounds)
    return 1.0 - (1.0 - initial) * ((1.0 - final) / (1.0 - initial)) ** t


@SCHEDULES.register("linear")
def linear(round_index: int, rounds: int, initial: float, final: float) -> float:
    t = _progress(round_index, rounds)
    return initial + (final - initial) * t


@SCHEDULES.register("cubic")
def cubic(round_index: int, rounds: int, initial: float, final: float) -> float:
    t = _progress(round_index, rounds)
    return final + (initial - final) * (1.0 - t) ** 3


def sparsity_at(name: str, round_index: int, rounds: int, initial: float, final: float) -> float:
    return float(SCHEDULES.get(name)(round_index, rounds, initial, final))
