"""Models the benchmarks share (run a benchmark as ``python benchmarks/NAME.py``: this folder is on its path)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def tutorial_csnn(steps: int = 4) -> nn.Module:
    """The snnTorch tutorial's convolutional SNN (two conv + max-pool + Leaky blocks, a linear readout)."""
    import snntorch as snn

    class TutorialCSNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.lif1 = nn.Conv2d(1, 12, 5), snn.Leaky(beta=0.5)
            self.conv2, self.lif2 = nn.Conv2d(12, 64, 5), snn.Leaky(beta=0.5)
            self.fc1, self.lif3 = nn.Linear(64 * 4 * 4, 10), snn.Leaky(beta=0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
            out = []
            for _ in range(steps):
                spk1, mem1 = self.lif1(F.max_pool2d(self.conv1(x), 2), mem1)
                spk2, mem2 = self.lif2(F.max_pool2d(self.conv2(spk1), 2), mem2)
                spk3, mem3 = self.lif3(self.fc1(spk2.flatten(1)), mem3)
                out.append(spk3)
            return torch.stack(out)

    return TutorialCSNN()
