import pytest
from torch import nn

from snninit_adapters.adapters.torch import snninit_weight_layer


@pytest.mark.parametrize(
    ("layer", "transposed", "groups"),
    [
        (nn.Linear(3, 4), False, 1),
        (nn.Conv1d(4, 8, 3, groups=2), False, 2),
        (nn.Conv2d(3, 6, 3), False, 1),
        (nn.Conv3d(2, 2, 1), False, 1),
        (nn.ConvTranspose2d(4, 8, 3, groups=4), True, 4),
    ],
    ids=lambda v: type(v).__name__,
)
def test_weight_layers(layer, transposed, groups):
    spec = snninit_weight_layer(layer)
    assert spec.kind == type(layer).__name__
    assert (spec.transposed, spec.groups, spec.weight, spec.bias) == (transposed, groups, "weight", "bias")


def test_subclasses_count_and_others_do_not():
    class MyLinear(nn.Linear):
        pass

    assert snninit_weight_layer(MyLinear(2, 2)).kind == "MyLinear"
    assert snninit_weight_layer(nn.ReLU()) is None
    assert snninit_weight_layer(nn.BatchNorm1d(3)) is None
