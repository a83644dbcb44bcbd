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


def fig4_rows(lost, exact):
    """One run per (width, threshold): the last layer silent (or survival 0.5) where (width, theta) is in lost."""
    spec = figure_spec(4)
    out = []
    for width in spec.widths:
        for theta in spec.thresholds:
            gone = (width, theta) in lost
            for layer in range(spec.depth + 1):
                row = {"method": "micheli2024", "threshold": theta, "width": width, "run": 0, "layer": layer,
                       "step": 0, "var_u": 1.0, "mean_u": 0.0, "skew_u": 0.0, "kurt_u": 0.0,
                       "spikes": 0.0 if gone and layer == spec.depth else 5.0}  # fmt: skip
                if exact:
                    row["survival"] = 0.5 if gone else 1.0
                out.append(row)
    return spec, out


def test_the_fig4_claim_holds_only_where_the_thresholds_that_lose_activity_are_the_papers():
    papers = {(100, 0.9), (100, 0.95), (100, 1.0), (600, 1.0)}
    for exact in (False, True):
        spec, good = fig4_rows(papers, exact)
        assert [c.holds for c in claims(spec, good)] == [True, True], claims(spec, good)
        # the exact law's finding at n = 600: already lost at 0.95, where the paper says only 1 degrades
        spec, early = fig4_rows(papers | {(600, 0.95)}, exact)
        checked = claims(spec, early)
        assert [c.holds for c in checked] == [True, False]
        assert checked[1].detail == "paper: lost at theta = 1; measured: lost at theta = 0.95, 1"
        spec, late = fig4_rows(papers - {(100, 0.9)}, exact)  # n = 100 keeps its activity at 0.9
        assert [c.holds for c in claims(spec, late)] == [False, True]
