import pytest

from snninit_adapters.training.grids import FIG8_PANELS, FIG10_SWEEPS, METHODS, fig10_reference, figure_grid, panel_of


def test_fig8_grid_is_every_method_on_every_panel_with_the_papers_epochs():
    cells = figure_grid(8)
    assert len(cells) == len(FIG8_PANELS) * len(METHODS) == 40
    assert {(c.architecture, c.dataset) for c in cells} == set(FIG8_PANELS)
    assert {c.method for c in cells} == set(METHODS)
    assert {c.epochs for c in cells if c.dataset == "cifar10"} == {300}
    assert {c.epochs for c in cells if c.dataset != "cifar10"} == {150}
    assert all(c.framework == "snntorch" and c.steps == 3 and c.beta == 0.5 and c.theta == 1.0 for c in cells)
    assert figure_grid(9) == cells


def test_overrides_frameworks_seeds_and_quick():
    cells = figure_grid(
        8,
        methods=["kaiming"],
        frameworks=["norse", "snntorch"],
        seeds=[0, 1, 2],
        panels=[("mlp", "mnist")],
        epochs=3,
        batch_size=32,
    )
    assert len(cells) == 6
    assert {c.epochs for c in cells} == {3}
    assert {c.batch_size for c in cells} == {32}
    quick = figure_grid(8, quick=True, panels=[("mlp", "mnist"), ("cnn", "cifar10")], methods=["kaiming"])
    mlp, cnn = quick
    assert (mlp.epochs, mlp.train_size, mlp.width) == (2, 2000, 200)
    assert cnn.width is None  # the CNN keeps its 64 channels
    assert figure_grid(8, quick=True, epochs=5, methods=["kaiming"])[0].epochs == 5


def test_fig10_varies_one_parameter_at_a_time_around_the_defaults():
    cells = figure_grid(10)
    assert len(cells) == len(set(cells))
    assert {c.method for c in cells} == {"micheli2024", "kaiming"}
    assert {c.dataset for c in cells} == {"mnist"}
    rows = [
        {"depth": c.model.resolved_depth, "width": c.model.resolved_width, "beta": c.beta, "theta": c.theta}
        for c in cells
    ]
    reference = fig10_reference(rows)
    assert reference == {"depth": 10, "width": 600, "beta": 0.5, "theta": 1.0}
    for parameter, values in FIG10_SWEEPS.items():
        panel = {float(r[parameter]) for r in rows if panel_of(r, parameter, reference)}
        assert panel == {float(v) for v in values}
    # the shared default appears once per method, not once per panel
    assert sum(r == {"depth": 10, "width": 600, "beta": 0.5, "theta": 1.0} for r in rows) == 2
    assert {c.dataset for c in figure_grid(10, dataset="fashion-mnist")} == {"fashion-mnist"}
    assert {c.depth for c in figure_grid(10, depth=4) if c.theta == 0.25} == {4}
    assert {c.depth for c in figure_grid(10, depth=4)} >= set(FIG10_SWEEPS["depth"])  # the swept one keeps its values


def test_other_figures_are_rejected():
    with pytest.raises(ValueError, match="8, 9 and 10"):
        figure_grid(3)
