"""The training networks built from Norse: LIFBoxCell with the arctan surrogate, read as a LIFBoxCell."""

import math

import pytest
import torch

from integration._training import (
    assert_learns,
    assert_resumes_bit_for_bit,
    init_report,
    learning_run,
    needs_fashion,
    silent_start,
    tiny_cell,
)
from snninit_adapters.training.models import ModelConfig, atan_spike, build_model, lif_box_atan_step
from tests.training._files import write_mnist


def test_cells_are_lif_box_cells_with_the_arctan_step():
    model = build_model(ModelConfig("mlp", "norse", depth=2, width=32, beta=0.75, theta=0.5), (1, 28, 28))
    cells = [m for m in model.modules() if type(m).__name__ == "LIFBoxCell"]
    assert len(cells) == 4
    for cell in cells:
        assert cell.activation is lif_box_atan_step
        assert math.isclose(float(cell.p.tau_mem_inv) * cell.dt, 0.25)
        assert float(cell.p.v_th) == 0.5
    assert model.input_gain == pytest.approx(0.25)
    assert model(torch.randn(5, 1, 28, 28)).shape == (3, 5, 10)


def test_arctan_step_is_norses_step_with_another_gradient():
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState, LIFBoxParameters, lif_box_feed_forward_step
    from norse.torch.functional.reset import reset_subtract

    p = LIFBoxParameters(tau_mem_inv=torch.tensor(500.0), v_th=torch.tensor(1.0), reset_method=reset_subtract)
    x = torch.linspace(-1, 5, 61, requires_grad=True)
    state = LIFBoxFeedForwardState(v=torch.full((61,), 0.3))
    z_ours, s_ours = lif_box_atan_step(x, state, p, 1e-3)
    z_norse, s_norse = lif_box_feed_forward_step(x, state, p, 1e-3)
    torch.testing.assert_close(z_ours, z_norse)
    torch.testing.assert_close(s_ours.v, s_norse.v)
    (grad,) = torch.autograd.grad(z_ours.sum(), x)
    v = 0.3 + 0.5 * (x.detach() - 0.3)
    torch.testing.assert_close(grad, 0.5 / (1 + (math.pi * (v - 1)) ** 2))  # g * alpha/2 / (1 + (pi alpha u / 2)^2)
    assert float(atan_spike(torch.tensor(0.0))) == 0.0  # no spike exactly at the threshold, as Norse's heaviside


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_apply_snn_init_reads_the_cells_without_probing(architecture):
    _, _, report = init_report("norse", architecture)
    for layer in report.layers:
        (neuron,) = layer.downstream
        assert neuron.kind == "LIFBoxCell"
        assert not neuron.probed
        assert neuron.input_gain == pytest.approx(0.5)


@needs_fashion
def test_proposed_mlp_fires_in_its_last_layer_and_kaiming_is_silent():
    spikes = silent_start("norse")
    assert spikes["micheli2024"] > 0, spikes
    assert spikes["kaiming"] == 0, spikes


@needs_fashion
def test_proposed_mlp_learns_on_real_fashion_mnist():
    assert_learns(learning_run("norse"))


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_a_cell_interrupted_in_epoch_3_resumes_to_the_uninterrupted_result(tmp_path, architecture):
    write_mnist(tmp_path / "MNIST" / "raw")
    assert_resumes_bit_for_bit(tiny_cell("norse", architecture), tmp_path, tmp_path / "cell.ckpt")
