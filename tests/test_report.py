from snninit_adapters import InitReport, LayerReport, NeuronLink, SkippedWeight


def layer(name="fc", **kwargs):
    fields = {
        "name": name,
        "kind": "Linear",
        "fan_in": 10,
        "upstream": (NeuronLink("<input>", "input"),),
        "downstream": (NeuronLink("lif", "Leaky", "1", 0.5, ("mod:BatchNorm1d",), probed=True),),
        "firing_probability": None,
        "input_second_moment": 1.0,
        "old_std": 0.3,
        "new_std": 0.25,
        "new_mean": 0.0,
        "distribution": "normal",
        "bias": "zeroed",
        "warnings": ("look here",),
    }
    return LayerReport(**(fields | kwargs))


def test_table_lists_every_column_and_the_warnings():
    report = InitReport(
        "micheli2024", 1.0, True, "forward pass", (layer(),), (SkippedWeight("rec", "recurrent"),), ("a note",)
    )
    text = str(report)
    assert "re-initialised 1 weight layer(s) with micheli2024" in text
    assert "lif (θ=1, g=0.5, probed)" in text
    assert "warning: fc: look here" in text
    assert "skipped: rec: recurrent" in text
    assert "note: a note" in text
    assert len(report) == 1


def test_dicts_are_plain():
    row = InitReport("kaiming", 2.0, False, "module order", (layer(),)).to_dicts()[0]
    assert row["method"] == "kaiming"
    assert row["applied"] is False
    assert row["downstream"][0]["path"] == ["mod:BatchNorm1d"]
    assert row["warnings"] == ["look here"]
