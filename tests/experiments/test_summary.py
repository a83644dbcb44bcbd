from snninit_adapters.experiments import claims, figure_spec
from snninit_adapters.experiments.summary import summarise


def rows(method, spikes_last, var_last, runs=2, depth=3, width=1000):
    out = []
    for run in range(runs):
        for layer in range(depth + 1):
            last = layer == depth
            out.append({"method": method, "threshold": 1.0, "width": width, "run": run, "layer": layer, "step": 0,
                        "var_u": var_last if last else 1.0, "mean_u": 0.0, "skew_u": 0.0, "kurt_u": 0.0,
                        "spikes": spikes_last if last else 5.0})  # fmt: skip
    return out


def test_claims_follow_the_numbers():
    spec = figure_spec(5, quick=True)
    good = rows("micheli2024", 4.0, 1.0) + rows("kaiming", 0.0, 0.0)
    assert [c.holds for c in claims(spec, good)] == [True, True]
    bad = rows("micheli2024", 0.0, 0.0) + rows("kaiming", 3.0, 1.0)
    assert [c.holds for c in claims(spec, bad)] == [False, False]
    assert "does not hold" in summarise(spec, "reference", bad)
