import pytest

from spiralkit.compress import SCHEDULES, SpiralConfig
from spiralkit.compress.schedules import sparsity_at


@pytest.mark.parametrize("name", ["constant", "linear", "cubic"])
def test_schedules_rise_to_the_target(name):
    values = [sparsity_at(name, r, 5, 0.1, 0.9) for r in range(1, 6)]
    assert all(b > a for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(0.9)
    assert values[0] > 0.1


def test_exact_values():
    assert sparsity_at("linear", 2, 4, 0.0, 0.8) == pytest.approx(0.4)
    # Zhu & Gupta: s_t = s_f + (s_i - s_f) (1 - t/n)^3
    assert sparsity_at("cubic", 1, 4, 0.0, 0.8) == pytest.approx(0.8 - 0.8 * 0.75 ** 3)
    # constant: the same fraction of the remaining weights each round (density halves each round here)
    assert sparsity_at("constant", 1, 2, 0.0, 0.75) == pytest.approx(0.5)


def test_unknown_schedule_and_custom_one():
    with pytest.raises(ValueError, match="unknown schedule 'exp'"):
        SpiralConfig(schedule="exp").validate()
    SCHEDULES.register("test_step", lambda r, n, i, f: f, overwrite=True)
    assert SpiralConfig(schedule="test_step", rounds=3, target_sparsity=0.5).round_sparsities() == [0.5] * 3
