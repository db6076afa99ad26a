"""Small models for the bundled datasets, built by name (recipes name them)."""

from __future__ import annotations

from torch import nn


class MnistCNN(nn.Module):
    """Two conv blocks (conv-BN-ReLU-pool) and two linear layers: ~0.2 M parameters, ~99 % of
    them in ``fc1`` -- the layer spiral compression mostly prunes."""

    def __init__(self, width: int = 16, hidden: int = 128, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(2 * width * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.pool(nn.functional.relu(self.bn1(self.conv1(x))))
        x = self.pool(nn.functional.relu(self.bn2(self.conv2(x))))
        x = nn.functional.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class MnistResNet(nn.Module):
    """A stem and one residual block (BN everywhere): exercises channel pruning across an add."""

    def __init__(self, width: int = 16, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(width)
        self.conv_a = nn.Conv2d(width, width, 3, padding=1)
        self.bn_a = nn.BatchNorm2d(width)
        self.conv_b = nn.Conv2d(width, width, 3, padding=1)
        self.bn_b = nn.BatchNorm2d(width)
        self.head = nn.Conv2d(width, 2 * width, 3, padding=1, stride=2)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x):
        x = nn.functional.relu(self.bn0(self.stem(x)))
        x = nn.functional.max_pool2d(x, 2)
        y = nn.functional.relu(self.bn_a(self.conv_a(x)))
        x = nn.functional.relu(x + self.bn_b(self.conv_b(y)))
        x = nn.functional.relu(self.head(x))
        return self.fc(x.mean((2, 3)))


class MLP(nn.Module):
    def __init__(self, hidden: int = 256, classes: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = nn.functional.relu(self.fc1(x.flatten(1)))
        x = nn.functional.relu(self.fc2(x))
        return self.fc3(x)


MODELS = {"mnist_cnn": MnistCNN, "mnist_resnet": MnistResNet, "mnist_mlp": MLP}


def build_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise ValueError(f"model: unknown '{name}'; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
