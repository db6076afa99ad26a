"""Fixtures of the compression tests: tiny models and data, one torch thread (2 shared cores)."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

torch.set_num_threads(1)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


@pytest.fixture
def tiny_cnn():
    torch.manual_seed(0)
    return TinyCNN()


@pytest.fixture
def tiny_data():
    """8 labelled batches of 16 random 1x16x16 images, 3 classes (labels from a fixed rule so
    there is something to learn)."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(8):
        x = torch.randn(16, 1, 16, 16, generator=g)
        y = (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
        batches.append((x, y))
    return batches


@pytest.fixture
def make_tiny_cnn():
    def make(seed: int = 0):
        torch.manual_seed(seed)
        return TinyCNN()

    return make
