"""`pip install '.[all]' -c constraints/all.txt` gives one working PyTorch set (run by tox's install-all env).

The zoo tests of the three frameworks run in the same environment; these check what they do not touch:
that the installed torch, torchvision and torchaudio belong to one release and that the compiled operators
of torchvision and torchaudio load beside this torch (a mismatched torchvision fails with "operator
torchvision::nms does not exist").
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
import torch

from tests._torch_set import mismatches

torchvision = pytest.importorskip("torchvision")
torchaudio = pytest.importorskip("torchaudio")


def test_installed_pytorch_packages_are_one_release() -> None:
    assert mismatches(version("torch"), version("torchvision"), version("torchaudio")) == []


def test_torchvision_operators_run() -> None:
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.9], [2.0, 2.0, 3.0, 3.0]])
    kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert kept.tolist() == [0, 2]


def test_torchaudio_operators_run() -> None:
    impulse = torch.zeros(1, 8)
    impulse[0, 0] = 1.0
    # y[n] = x[n] + 0.5 y[n-1]: the impulse response is 0.5 ** n (torchaudio's compiled lfilter)
    out = torchaudio.functional.lfilter(impulse, torch.tensor([1.0, -0.5]), torch.tensor([1.0, 0.0]), clamp=False)
    assert torch.allclose(out, 0.5 ** torch.arange(8.0))
