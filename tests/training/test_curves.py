import pytest

from snninit_adapters.training.train import TrainConfig
from tests.training.test_claims import rows_for

pytest.importorskip("matplotlib")


def test_figures_8_9_and_10_are_written(tmp_path):
    from snninit_adapters.training.curves import plot_training

    rows = []
    for framework in ("snntorch", "norse"):
        for method in ("micheli2024", "kaiming"):
            rows += rows_for(TrainConfig(dataset="mnist", framework=framework, method=method), [0.3, 0.6])
    paths = plot_training(8, rows, tmp_path / "fig8")
    assert [p.name for p in paths] == ["fig8-norse.png", "fig8-norse.pdf", "fig8-snntorch.png", "fig8-snntorch.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    ten = []
    for depth in (3, 10):
        for method in ("micheli2024", "kaiming"):
            ten += rows_for(TrainConfig(dataset="mnist", method=method, depth=depth), [0.3, 0.6])
    assert [p.name for p in plot_training(10, ten, tmp_path / "fig10")] == ["fig10.png", "fig10.pdf"]
