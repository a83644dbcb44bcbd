"""The README's demo: spikes reach the last layer under the paper's method and not under Kaiming."""

import re

from snninit_adapters.demo import count_spikes, main


def test_paper_method_keeps_spikes_that_kaiming_loses():
    paper, report = count_spikes("micheli2024", depth=20, width=1000, seed=0)
    kaiming, _ = count_spikes("kaiming", depth=20, width=1000, seed=0)
    assert len(report) == 20
    assert len(paper) == len(kaiming) == 21
    assert paper[0] == kaiming[0]  # the same encoding layer and input
    assert paper[-1] > 0.5 * paper[0]
    assert kaiming[-1] == 0


def test_main_prints_the_table(capsys):
    main(["--depth", "3", "--width", "200"])
    out = capsys.readouterr().out
    assert "Kaiming" in out
    assert "Micheli et al. 2024" in out
    assert "spikes reaching the last layer" in out
    assert "apply_snn_init: re-initialised 3 weight layer(s) with micheli2024" in out
    spike_rows = [line for line in out.splitlines() if re.fullmatch(r"\s*\d+\s+\d+\s+\d+", line)]
    assert len(spike_rows) == 4
