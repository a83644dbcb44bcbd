from snninit_adapters.experiments import figure_spec
from snninit_adapters.experiments.summary import summarise, weight_law_groups


def rows(method, spikes_last, var_last, runs=2, depth=20, width=1000):
    out = []
    for run in range(runs):
        for layer in range(depth + 1):
            last = layer == depth
            out.append({"method": method, "threshold": 1.0, "width": width, "run": run, "layer": layer, "step": 0,
                        "var_u": var_last if last else 1.0, "mean_u": 0.0, "skew_u": 0.0, "kurt_u": 0.0,
                        "spikes": spikes_last if last else 5.0})  # fmt: skip
    return out


def test_the_summary_prints_each_verdict_with_its_tolerance():
    spec = figure_spec(3, quick=True)
    good = summarise(spec, "reference", rows("micheli2024", 4.0, 1.0))
    assert "**holds** (spikes at the last layer: 4 ± 0; judged: the mean spike count" in good
    assert "does not hold" not in good
    assert "**does not hold**" in summarise(spec, "reference", rows("micheli2024", 0.0, 0.0))


def test_the_reference_backend_note_is_a_sentence():
    text = summarise(figure_spec(3, quick=True), "reference", rows("micheli2024", 4.0, 1.0))
    assert "None" not in text
    assert "- It is the paper's model: Eq. 2/13" in text


def test_at_theta_1_the_eight_methods_draw_three_laws():
    groups = weight_law_groups(figure_spec(3), 1.0)
    assert groups == [("micheli2024", "rossbroich2022"), ("kaiming", "ding2022"),
                      ("glorot", "lee2016 (uniform)", "bellec2018", "zenke2021")]  # fmt: skip
    text = summarise(figure_spec(3), "reference", rows("micheli2024", 4.0, 1.0))
    assert "- micheli2024 = rossbroich2022: one mean and std, so their curves coincide" in text


def test_over_20_steps_rossbroich_takes_the_kernel_of_the_simulated_neuron():
    groups = weight_law_groups(figure_spec(6), 1.0)
    assert ("micheli2024", "rossbroich2022") not in groups
    assert all("rossbroich2022" not in g or len(g) == 1 for g in groups)
