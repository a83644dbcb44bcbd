import math

from snninit_adapters.training.claims import final_accuracies, summarise_training, training_claims
from snninit_adapters.training.train import EPOCH_COLUMNS, TrainConfig, _cell_fields


def rows_for(cell, accuracies, test=None):
    base = _cell_fields(cell)
    out = [
        {
            **base,
            "epoch": 0,
            "train_loss": math.nan,
            "train_acc": math.nan,
            "test_loss": 2.3,
            "test_acc": 0.1,
            "lr": 1e-3,
            "seconds": 0.0,
        }
    ]
    for epoch, acc in enumerate(accuracies, 1):
        out.append(
            {
                **base,
                "epoch": epoch,
                "train_loss": 1.0,
                "train_acc": acc,
                "test_loss": 1.0,
                "test_acc": acc if test is None else test,
                "lr": 1e-3,
                "seconds": 1.0,
            }
        )
    assert set(out[0]) == set(EPOCH_COLUMNS)
    return out


def fig8_rows(mnist):
    rows = []
    for method, acc in mnist.items():
        rows += rows_for(TrainConfig(dataset="mnist", architecture="mlp", method=method), [0.5, acc])
    return rows


def test_final_accuracy_is_the_last_epochs_mean_over_seeds():
    rows = []
    for seed, acc in ((0, 0.8), (1, 0.9)):
        rows += rows_for(TrainConfig(dataset="mnist", method="kaiming", seed=seed), [0.5, acc])
    finals = final_accuracies(rows)
    assert finals == {("mlp", "mnist", "snntorch", "kaiming"): [0.8, 0.9]}


def test_fig8_claim_on_mnist_holds_only_when_just_the_two_methods_pass_90():
    good = fig8_rows({"micheli2024": 0.95, "rossbroich2022": 0.93, "kaiming": 0.4, "glorot": 0.3})
    (claim,) = training_claims(8, good)
    assert claim.holds
    assert "Rossbroich" in claim.text
    bad = fig8_rows({"micheli2024": 0.95, "rossbroich2022": 0.93, "kaiming": 0.91})
    assert not training_claims(8, bad)[0].holds
    worse = fig8_rows({"micheli2024": 0.85, "rossbroich2022": 0.93, "kaiming": 0.4})
    assert not training_claims(8, worse)[0].holds


def test_fig8_similarity_and_cifar_claims():
    rows = []
    for method, acc in (("micheli2024", 0.90), ("kaiming", 0.88), ("glorot", 0.87)):
        rows += rows_for(TrainConfig(dataset="fashion-mnist", architecture="cnn", method=method), [acc])
        rows += rows_for(TrainConfig(dataset="cifar10", architecture="cnn", method=method), [acc - 0.3])
    claims = {c.text: c for c in training_claims(9, rows)}
    assert claims["CNN on fashion-mnist: all methods perform well (within 5 points)"].holds
    assert claims["CNN on cifar10: the proposed method is the best"].holds


def test_fig10_claims_compare_with_kaiming_per_panel():
    rows = []
    for depth, ours, theirs in ((3, 0.9, 0.85), (10, 0.9, 0.5), (20, 0.88, 0.2)):
        for method, acc in (("micheli2024", ours), ("kaiming", theirs)):
            rows += rows_for(TrainConfig(dataset="mnist", method=method, depth=depth), [acc])
    for theta in (0.5, 1.0):
        for method in ("micheli2024", "kaiming"):
            if theta != 1.0:
                rows += rows_for(TrainConfig(dataset="mnist", method=method, theta=theta), [0.3])
    claims = {c.text: c for c in training_claims(10, rows)}
    assert claims["depth: the proposed method at least as accurate as Kaiming at every value"].holds
    assert claims["Kaiming degrades with deeper"].holds
    assert not claims["Kaiming degrades with higher theta"].holds  # 50% at theta = 1 vs 30% at theta = 0.5


def test_summary_lists_accuracies_claims_silent_starts_and_failures():
    rows = fig8_rows({"micheli2024": 0.95, "kaiming": 0.2})
    activity = [
        {
            **_cell_fields(TrainConfig(dataset="mnist", method=m)),
            "layer": "body.18",
            "index": 9,
            "kind": "Leaky",
            "step": 0,
            "neurons": 10,
            "spikes": s,
            "rate": 0.0,
            "u_var": "",
        }
        for m, s in (("micheli2024", 5), ("kaiming", 0))
    ]
    errors = [{"cell": TrainConfig(dataset="cifar10", method="glorot").to_cell(), "error": "RuntimeError: x"}]
    text = summarise_training(8, rows, activity, errors)
    assert "| mlp | mnist | snntorch | micheli2024 | 1 | 2 | 95.0% | 95.0% |" in text
    assert "Runs of 2 epoch(s)" in text
    assert "1 of 2 runs started with a silent output layer" in text
    assert "mnist/mlp/snntorch/kaiming/0" in text
    assert "## Failed cells (1)" in text
    assert "cifar10/mlp/snntorch/glorot/0: RuntimeError: x" in text
