r"""Fan-in and fan-out of linear and convolutional weights, from the weight's shape alone.

The fan-in :math:`n_l` of Eq. 10 is the number of inputs summed into one output neuron:

======================  ==========================================  =============================
layer                   weight shape                                fan-in
======================  ==========================================  =============================
``Linear``              ``(out, in)``                               ``in``
``ConvNd``              ``(c_out, c_in / groups, k_1, ..., k_d)``   ``c_in / groups * k_1 ... k_d``
``ConvTransposeNd``     ``(c_in, c_out / groups, k_1, ..., k_d)``   ``c_in / groups * k_1 ... k_d``
======================  ==========================================  =============================

A convolution's weight already stores ``c_in / groups`` in its second dimension, so ``groups`` does
not enter its fan-in. A transposed convolution stores its *input* channels first; each output
position then sums over the ``c_in / groups`` input channels of its group and the ``k_1 ... k_d``
kernel taps. (``torch.nn.init`` reads the second dimension for every layer, which for a transposed
convolution is the output-channel count.) With a stride ``s > 1`` an output position of a transposed
convolution is reached by only about ``prod(k_i / s_i)`` taps; the stride-1 count is returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from snninit_adapters.errors import SNNInitError

__all__ = ["fan_in", "fan_out"]


def _checked_shape(weight_shape: Sequence[int], groups: int) -> tuple[int, ...]:
    shape = tuple(int(d) for d in weight_shape)
    if len(shape) < 2:
        raise SNNInitError(
            f"fan in and fan out can not be computed for a weight with fewer than 2 dimensions, got shape {shape}"
        )
    if any(d < 0 for d in shape):
        raise SNNInitError(f"weight shape must not have negative sizes, got {shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise SNNInitError(f"groups must be a positive integer, got {groups!r}")
    return shape


def fan_in(weight_shape: Sequence[int], *, transposed: bool = False, groups: int = 1) -> int:
    """Number of inputs summed into one output of a linear, conv or transposed-conv layer.

    Args:
        weight_shape: Shape of the layer's weight (``layer.weight.shape``).
        transposed: True for a ``ConvTransposeNd`` weight, whose first dimension holds the input channels.
        groups: The layer's ``groups``; used only for a transposed convolution.

    Returns:
        The fan-in :math:`n` of Eq. 10.

    Raises:
        SNNInitError: If the shape has fewer than 2 dimensions, or (transposed) its first
            dimension is not divisible by ``groups``.

    Examples:
        >>> fan_in((10, 784))
        784
        >>> fan_in((64, 3, 3, 3))
        27
        >>> fan_in((16, 8, 3, 3), transposed=True, groups=4)
        36
    """
    shape = _checked_shape(weight_shape, groups)
    receptive_field = math.prod(shape[2:])
    if not transposed:
        return shape[1] * receptive_field
    if shape[0] % groups:
        raise SNNInitError(
            f"a transposed convolution's weight stores its input channels first; {shape[0]} input channels "
            f"cannot be split into groups={groups}"
        )
    return shape[0] // groups * receptive_field


def fan_out(weight_shape: Sequence[int], *, transposed: bool = False, groups: int = 1) -> int:
    """Number of outputs that one input of the layer feeds (the fan-out of Glorot and He).

    For ungrouped layers this matches ``torch.nn.init`` for linear and conv weights.

    Args:
        weight_shape: Shape of the layer's weight.
        transposed: True for a ``ConvTransposeNd`` weight.
        groups: The layer's ``groups``; used only for a regular convolution.

    Returns:
        The fan-out :math:`m`.

    Raises:
        SNNInitError: If the shape has fewer than 2 dimensions, or its first dimension is not divisible
            by ``groups``.

    Examples:
        >>> fan_out((10, 784))
        10
        >>> fan_out((64, 3, 3, 3))
        576
    """
    shape = _checked_shape(weight_shape, groups)
    receptive_field = math.prod(shape[2:])
    if transposed:
        return shape[1] * receptive_field
    if shape[0] % groups:
        raise SNNInitError(f"{shape[0]} output channels cannot be split into groups={groups}")
    return shape[0] // groups * receptive_field
