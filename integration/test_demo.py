"""The README's demo: spikes reach the last layer under the paper's method and not under Kaiming."""

from snninit_adapters.demo import count_spikes, main
from snninit_adapters.init import kaiming_normal_, snn_normal_


def test_paper_method_keeps_spikes_that_kaiming_loses():
    paper = count_spikes(snn_normal_, depth=20, width=1000, seed=0)
    kaiming = count_spikes(kaiming_normal_, depth=20, width=1000, seed=0)
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
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 4
