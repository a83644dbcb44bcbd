"""The training networks' builder and classifier, on a toy backend (no SNN framework needed)."""

import pytest
import torch
from torch import nn

from snninit_adapters.backends import FrameworkBackend
from snninit_adapters.training.models import ModelConfig, build_model, spike_count_loss
from tests._toy import ToyNeuron


class CountingNeuron(ToyNeuron):
    """A toy neuron that remembers how many steps it ran since its last reset."""

    def __init__(self, theta: float, gain: float) -> None:
        super().__init__(theta, gain)
        self.calls = 0

    def reset(self) -> None:
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().forward(x)


class ToyBackend(FrameworkBackend):
    """The paper's neuron as the toy neuron: gain 1 - beta, as Norse's LIFBoxCell."""

    name = "toy"
    notes = ("a toy neuron",)

    def input_gain(self, beta: float) -> float:
        return 1.0 - beta

    def neuron(self, beta, theta, *, surrogate=False, device="cpu"):
        return CountingNeuron(theta, self.input_gain(beta))

    def run(self, body, sequence):
        for module in body.modules():
            if isinstance(module, CountingNeuron):
                module.reset()
        return self.step_through(body, sequence)


def kinds(model):
    return [type(m).__name__ for m in model.body]


def test_mlp_has_an_encoding_layer_depth_blocks_and_an_output_layer():
    config = ModelConfig("mlp", "toy", depth=3, width=16, beta=0.5, theta=0.5, steps=4)
    model = build_model(config, (1, 6, 6), classes=5, backend=ToyBackend())
    assert kinds(model) == ["CountingNeuron"] + ["Linear", "CountingNeuron"] * 4
    linears = [m for m in model.body if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(36, 16), (16, 16), (16, 16), (16, 5)]
    assert all(m.theta == 0.5 and m.gain == 0.5 for m in model.body if isinstance(m, ToyNeuron))
    assert model.framework == "toy"
    assert model.input_gain == 0.5


def test_cnn_keeps_the_spatial_size_and_ends_in_a_linear_readout():
    config = ModelConfig("cnn", "toy", depth=2, width=8, steps=2)
    model = build_model(config, (3, 5, 7), backend=ToyBackend())
    assert kinds(model) == ["Conv2d", "CountingNeuron", "Conv2d", "CountingNeuron", "Flatten", "Linear",
                            "CountingNeuron"]  # fmt: skip
    convs = [m for m in model.body if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.padding) for m in convs] == [
        (3, 8, (3, 3), (1, 1)),
        (8, 8, (3, 3), (1, 1)),
    ]
    assert model.body[5].in_features == 8 * 5 * 7
    assert model(torch.randn(4, 3, 5, 7)).shape == (2, 4, 10)


def test_every_call_runs_the_steps_from_a_reset_state_and_divides_the_mlp_input_by_the_gain():
    config = ModelConfig("mlp", "toy", depth=1, width=4, beta=0.75, steps=3)
    model = build_model(config, (1, 2, 2), classes=3, backend=ToyBackend())
    x = torch.randn(5, 1, 2, 2)
    frames = model.frames(x)
    assert frames.shape == (3, 5, 4)
    torch.testing.assert_close(frames[1], x.reshape(5, 4) / 0.25)
    for _ in range(2):
        out = model(x)
        assert out.shape == (3, 5, 3)
        assert {m.calls for m in model.body if isinstance(m, CountingNeuron)} == {3}


def test_event_frames_give_one_frame_per_step_and_the_count_must_match():
    config = ModelConfig("cnn", "toy", depth=1, width=2, steps=3)
    model = build_model(config, (2, 4, 4), backend=ToyBackend())
    frames = torch.randn(6, 3, 2, 4, 4)  # [B, T, C, H, W]
    torch.testing.assert_close(model.frames(frames), frames.transpose(0, 1))
    with pytest.raises(ValueError, match="runs 3 steps but the input has 2 frames"):
        model(torch.randn(6, 2, 2, 4, 4))


def test_settings_the_network_cannot_take_are_refused_before_building():
    with pytest.raises(ValueError, match="unknown framework 'brian2'"):
        build_model(ModelConfig("mlp", "brian2"), (1, 2, 2))
    with pytest.raises(ValueError, match="unknown framework 'snntorch'; choose one of toy"):
        build_model(ModelConfig("mlp", "snntorch"), (1, 2, 2), backend=ToyBackend())
    with pytest.raises(ValueError, match=r"beta must lie in \[0, 1\]"):
        build_model(ModelConfig("mlp", "toy", beta=1.5), (1, 2, 2), backend=ToyBackend())
    with pytest.raises(ValueError, match="needs depth >= 1"):
        build_model(ModelConfig("cnn", "toy", depth=0), (1, 2, 2), backend=ToyBackend())


def test_spike_count_loss_is_the_cross_entropy_of_the_counts():
    spikes = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]])  # [T=2, B=2, classes=2]
    targets = torch.tensor([0, 1])
    expected = nn.functional.cross_entropy(torch.tensor([[2.0, 0.0], [1.0, 2.0]]), targets)
    torch.testing.assert_close(spike_count_loss(spikes, targets), expected)
