import pytest
import torch
from torch import nn

import snninit_adapters.survival as survival_module
from snninit_adapters import apply_snn_init
from snninit_adapters.errors import SNNInitError
from snninit_adapters.theory import load_survival_table, recommend_width, survival_probability
from tests._toy import ToyNeuron

pytestmark = pytest.mark.usefixtures("toy_adapter")


def chain_model(width, depth, theta=1.0):
    layers = [ToyNeuron(theta)]
    for _ in range(depth):
        layers += [nn.Linear(width, width), ToyNeuron(theta)]
    return nn.Sequential(*layers)


def unit_rms(x):
    return x / x.square().mean().sqrt()


def test_report_gives_the_exact_survival_of_the_chain():
    width, depth = 120, 12
    x = unit_rms(torch.randn(16, width, dtype=torch.float64))  # float64: the data's r.m.s. is 1 to 1e-16
    report = apply_snn_init(chain_model(width, depth).double(), x, dry_run=True)
    (chain,) = report.chains
    assert chain.layers == tuple(str(2 * i + 1) for i in range(depth))
    assert chain.survival == pytest.approx(survival_probability(width, depth, 1.0), rel=1e-9)


def test_low_survival_warns_with_advice():
    report = apply_snn_init(chain_model(60, 25), unit_rms(torch.randn(8, 60)), dry_run=True)
    (chain,) = report.chains
    assert chain.survival < 0.99
    assert "neurons, or thresholds up to about" in chain.advice
    assert "approximate, from the survival table" in chain.advice
    assert "warning: chain 1 -> ... -> 49 (25 layers, width 60)" in str(report)


def test_the_advice_reads_the_table_and_rounds_towards_safety():
    report = apply_snn_init(chain_model(60, 25), unit_rms(torch.randn(8, 60)), dry_run=True)
    (chain,) = report.chains
    table = load_survival_table()
    needed, highest = table.width(1.0, 25), table.threshold(60, 25)
    shown = int(chain.advice.split("at least about ")[1].split()[0])
    assert needed <= shown <= 1.1 * needed  # rounded up to two significant figures
    assert recommend_width(1.0, 25) / 1.1 <= shown <= 1.2 * recommend_width(1.0, 25)
    assert f"thresholds up to about {int(highest * 100) / 100:.2f}" in chain.advice  # rounded down


def test_without_the_table_or_for_mixed_layers_the_advice_is_the_generic_line(monkeypatch):
    def unreadable():
        raise SNNInitError("the survival table cannot be read")

    monkeypatch.setattr(survival_module, "load_survival_table", unreadable)
    report = apply_snn_init(chain_model(60, 25), unit_rms(torch.randn(8, 60)), dry_run=True)
    assert report.chains[0].advice == "widen the narrowest layers or lower the thresholds to reach 0.99"
    monkeypatch.undo()
    model = nn.Sequential(ToyNeuron(), nn.Linear(60, 80), ToyNeuron(), nn.Linear(80, 60), ToyNeuron(),
                          nn.Linear(60, 80), ToyNeuron(), nn.Linear(80, 80), ToyNeuron())  # fmt: skip
    for i in range(0, 8, 2):
        model[i].theta = 1.5
    report = apply_snn_init(model, unit_rms(torch.randn(8, 60)), dry_run=True)
    assert report.chains[0].advice == "widen the narrowest layers or lower the thresholds to reach 0.99"


def test_wide_chain_has_no_warning():
    report = apply_snn_init(chain_model(1000, 5), unit_rms(torch.randn(4, 1000)), dry_run=True)
    (chain,) = report.chains
    assert chain.survival > 0.999999
    assert chain.advice is None
    assert "warning: chain" not in str(report)


def test_other_methods_are_compared_with_the_papers():
    report = apply_snn_init(chain_model(500, 8), unit_rms(torch.randn(4, 500)), method="kaiming", dry_run=True)
    (chain,) = report.chains
    assert chain.survival < 1e-6
    assert "the paper's initialisation (method='micheli2024') gives" in chain.advice


def test_convolutions_are_left_out_and_said_so():
    model = nn.Sequential(ToyNeuron(), nn.Conv2d(2, 4, 3, padding=1), ToyNeuron(), nn.Flatten(), nn.Linear(64, 10),
                          ToyNeuron())  # fmt: skip
    report = apply_snn_init(model, torch.randn(2, 2, 4, 4), dry_run=True)
    assert all("1" not in chain.layers for chain in report.chains)
    assert any("fully-connected chains only" in note for note in report.notes)


def test_a_narrow_readout_makes_a_note_that_never_asks_to_widen_it():
    model = nn.Sequential(ToyNeuron(), nn.Linear(300, 300), ToyNeuron(), nn.Linear(300, 10), ToyNeuron())
    report = apply_snn_init(model, unit_rms(torch.randn(8, 300)), dry_run=True)
    (chain,) = report.chains
    assert chain.survival < 0.99
    assert chain.advice is None
    assert "10-neuron readout" in chain.note
    assert "note: chain 1 -> 3 (2 layers, widths 10..300)" in str(report)
    assert "warning: chain" not in str(report)
