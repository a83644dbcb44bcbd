import csv

import pytest
from click.testing import CliRunner

from snninit_adapters.cli import cli
from snninit_adapters.experiments import run_propagation
from snninit_adapters.experiments.claims_table import claims_table, compare, write_claims_table


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Fig. 3 quick on the reference backend, and a made-up Fashion-MNIST sweep in snnTorch and Norse."""
    out = tmp_path_factory.mktemp("results")
    run_propagation(3, quick=True, out=out, progress=False, plot=False)
    for framework, ours, kaiming in (("snntorch", 0.8, 0.6), ("norse", 0.6, 0.8)):
        path = out / f"training-{framework}" / "training" / "fig8-9" / "training.csv"
        path.parent.mkdir(parents=True)
        with path.open("w", newline="") as stream:
            columns = ["dataset", "architecture", "framework", "method", "seed", "depth", "width", "beta", "theta",
                       "steps", "epoch", "train_acc", "test_acc"]  # fmt: skip
            writer = csv.DictWriter(stream, columns)
            writer.writeheader()
            for method, acc in (("micheli2024", ours), ("kaiming", kaiming)):
                writer.writerow({"dataset": "fashion-mnist", "architecture": "mlp", "framework": framework,
                                 "method": method, "seed": 0, "depth": 10, "width": 600, "beta": 0.5, "theta": 1,
                                 "steps": 3, "epoch": 2, "train_acc": acc, "test_acc": acc})  # fmt: skip
    return out


def cell(table, figure, start, backend):
    rows = [r for r in table.rows if r.figure == figure and r.claim.startswith(start)]
    assert len(rows) == 1, [r.claim for r in table.rows if r.figure == figure]
    return table.verdict(rows[0], backend)


def test_one_row_per_claim_one_column_per_backend(results):
    table = claims_table(results)
    assert table.scales == {"reference": "quick"}
    kept = cell(table, 3, "the proposed method's spikes reach", "reference")
    assert kept.word == "holds"
    assert kept.measured.startswith("spikes at the last layer: ")
    assert cell(table, 3, "kaiming fails", "reference").word == "holds"
    assert cell(table, 3, "kaiming fails", "snntorch").word == "not run"
    # a figure nobody ran is one row; the exact law does not run the multi-step figures
    assert cell(table, 5, "The proposed method propagates", "reference").word == "not run"
    assert cell(table, 5, "The proposed method propagates", "exact").word == "-"
    # training: each framework's own rows, its own column
    bar = "MLP on fashion-mnist: only the proposed method and Rossbroich et al. pass 70%"
    assert cell(table, 8, bar, "snntorch").word == "holds"  # of the methods run, only the proposed passes 70%
    assert cell(table, 8, bar, "norse").word == "does not hold"  # there Kaiming passes and the proposed does not
    assert cell(table, 8, bar, "spikingjelly").word == "not run"
    ahead = "MLP on fashion-mnist: the proposed method slightly ahead"
    assert [r for r in table.rows if r.claim.startswith(ahead)] == []  # needs rossbroich2022 in the sweep
    assert cell(table, 8, bar, "reference").word == "-"


def test_the_files_and_the_expectation(results, tmp_path):
    table = claims_table(results)
    markdown, csv_path = write_claims_table(table, tmp_path)
    assert "| 3 | kaiming fails to sustain the activity beyond about 5 layers |" in markdown.read_text()
    with csv_path.open() as stream:
        expected = list(csv.DictReader(stream))
    assert compare(table, expected) == []
    flipped = [dict(r, verdict="does not hold") if r["claim"].startswith("kaiming fails") and
               r["backend"] == "reference" else r for r in expected]  # fmt: skip
    (change,) = compare(table, flipped)
    assert change.startswith("Fig. 3 on reference: kaiming fails to sustain the activity beyond about 5 layers: "
                             "was does not hold, now holds (deepest layer with spikes: ")  # fmt: skip
    # only the backends compared count: a changed verdict elsewhere is another env's to report
    assert compare(table, flipped, backends=("snntorch", "norse")) == []
    assert table.ran() == ("reference", "snntorch", "norse")
    gone = [dict(r, claim="a claim no longer checked") if r["claim"].startswith("kaiming fails") else r
            for r in expected if r["backend"] == "reference"]  # fmt: skip
    assert any(c.endswith("was holds, now missing") for c in compare(table, gone))


def test_the_command_prints_the_table_and_fails_on_a_changed_verdict(results, tmp_path, monkeypatch):
    monkeypatch.delenv("SNNINIT_CLAIMS_EXPECT", raising=False)  # CI exports one for its own claims check
    result = CliRunner().invoke(cli, ["experiments", "claims", str(results)])
    assert result.exit_code == 0, result.output
    assert "kaiming fails to sustain the activity beyond about 5 layers" in result.output
    assert (results / "claims.md").is_file()
    expected = tmp_path / "expected.csv"
    text = (results / "claims.csv").read_text().replace(",reference,holds,", ",reference,does not hold,", 1)
    expected.write_text(text)
    failed = CliRunner().invoke(
        cli, ["experiments", "claims", str(results)], env={"SNNINIT_CLAIMS_EXPECT": str(expected)}
    )
    assert failed.exit_code == 1
    assert "changed: Fig. 2" not in failed.output
    assert "was does not hold, now holds" in failed.output
    same = CliRunner().invoke(cli, ["experiments", "claims", str(results), "--expect", str(results / "claims.csv")])
    assert same.exit_code == 0, same.output
    assert "every verdict on reference, snntorch, norse as in" in same.output
    missing = CliRunner().invoke(cli, ["experiments", "claims", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    assert "is not a folder" in missing.output


def test_a_claim_the_backend_does_not_check_is_a_dash(tmp_path):
    """The exact law covers the zero-mean normal laws: Fig. 3 on it has no lee2016 (uniform) claim."""
    run_propagation(3, backend="exact", quick=True, out=tmp_path, progress=False, plot=False, runs=1)
    table = claims_table(tmp_path)
    assert table.scales == {"reference": "quick", "exact": "quick"}
    assert cell(table, 3, "lee2016 fails", "reference").word == "holds"
    assert cell(table, 3, "lee2016 fails", "exact").word == "-"
    assert cell(table, 3, "bellec2018 fails", "exact").word == "holds"
    assert cell(table, 3, "bellec2018 fails", "snntorch").word == "not run"
