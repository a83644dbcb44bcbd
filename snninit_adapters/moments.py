r"""Running statistics of a stream of numbers: count, mean and the central moments up to the fourth.

Batches are reduced on their own on their device (in float64; float32 rows of 16384 values or more, and
float32 batches of 65536 values or more in all, in float32, with no float64 copy, to a relative 1e-6),
and merged with the pairwise update of Chan, Golub & LeVeque (1979) extended to the third and fourth
moments by Pébay (2008). The moments are population moments: variance :math:`M_2 / n`, skewness
:math:`\sqrt{n} M_3 / M_2^{3/2}`, excess kurtosis :math:`n M_4 / M_2^2 - 3` (``scipy.stats.skew`` /
``kurtosis`` with their defaults).
"""

from __future__ import annotations

import math

import numpy.typing as npt
import torch

__all__ = ["RunningMoments"]

_DEGENERATE = 1e-12  # a spread below this fraction of |mean| is float64 rounding, not data
_TINY_VARIANCE = 1e-140  # below this the fourth moment underflows in float64


class RunningMoments:
    r"""Count, mean and central moment sums :math:`M_2, M_3, M_4` of a stream of numbers.

    Batches are reduced on their own (on their device, in float64; a long float32 batch in float32)
    and merged with the pairwise update of Chan, Golub & LeVeque (1979) extended to the third and
    fourth moments by Pébay (2008), which is exact in exact arithmetic for any split of the data and
    stable in floating point.

    Attributes:
        count: How many values were seen.
        mean: Their mean.
        m2: :math:`\sum (x - \bar x)^2`.
        m3: :math:`\sum (x - \bar x)^3`.
        m4: :math:`\sum (x - \bar x)^4`.
    """

    __slots__ = ("count", "m2", "m3", "m4", "mean")

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.m3 = 0.0
        self.m4 = 0.0

    def update(self, values: torch.Tensor | npt.ArrayLike) -> None:
        """Fold a batch of values (any shape; a tensor stays on its device) into the statistics.

        Args:
            values: The batch.
        """
        x = torch.as_tensor(values).detach().reshape(1, -1)
        if x.numel() == 0:
            return
        ((batch_mean, m2, m3, m4),) = _central_sums(x).tolist()
        self._merge(x.numel(), batch_mean, m2, m3, m4)

    @classmethod
    def of_rows(cls, rows: torch.Tensor) -> list[RunningMoments]:
        """One accumulator per row of a 2-D batch (the steps of one call, say), reduced together.

        Each row's statistics are those :meth:`update` would give it alone; the rows share one
        reduction and one transfer of the results.

        Args:
            rows: The values, one row per accumulator (shape ``[R, N]``, N > 0).
        """
        sums = _central_sums(rows.detach())
        found = []
        for batch_mean, m2, m3, m4 in sums.tolist():
            moments = cls()
            moments._merge(rows.shape[1], batch_mean, m2, m3, m4)
            found.append(moments)
        return found

    def merge(self, other: RunningMoments) -> None:
        """Fold another accumulator's statistics into this one (as if its values had been seen here).

        Args:
            other: The other accumulator (left unchanged).
        """
        self._merge(other.count, other.mean, other.m2, other.m3, other.m4)

    def _merge(self, nb: int, mean_b: float, m2b: float, m3b: float, m4b: float) -> None:
        na = self.count
        if nb == 0:
            return
        if na == 0:
            self.count, self.mean, self.m2, self.m3, self.m4 = nb, mean_b, m2b, m3b, m4b
            return
        n = na + nb
        delta = mean_b - self.mean
        dn = delta / n
        dn2 = dn * dn
        m2a, m3a, m4a = self.m2, self.m3, self.m4
        fa, fb = float(na), float(nb)
        self.m4 = (
            m4a
            + m4b
            + delta * dn * dn2 * fa * fb * (fa * fa - fa * fb + fb * fb)
            + 6.0 * dn2 * (fa * fa * m2b + fb * fb * m2a)
            + 4.0 * dn * (fa * m3b - fb * m3a)
        )
        self.m3 = m3a + m3b + delta * dn2 * fa * fb * (fa - fb) + 3.0 * dn * (fa * m2b - fb * m2a)
        self.m2 = m2a + m2b + delta * dn * fa * fb
        self.mean += delta * (fb / n)
        self.count = n

    def _degenerate(self) -> bool:
        """True when the values are all equal up to float64 rounding (skewness and kurtosis undefined)."""
        return self.m2 <= self.count * max((_DEGENERATE * abs(self.mean)) ** 2, _TINY_VARIANCE)

    @property
    def variance(self) -> float:
        """Population variance :math:`M_2 / n` (NaN before any value)."""
        return self.m2 / self.count if self.count else math.nan

    @property
    def skewness(self) -> float:
        r""":math:`\sqrt{n} M_3 / M_2^{3/2}` (NaN before any value, or when the variance is 0 up to rounding)."""
        if not self.count or self._degenerate():
            return math.nan
        return math.sqrt(self.count) * (self.m3 / self.m2) / math.sqrt(self.m2)

    @property
    def kurtosis(self) -> float:
        r"""Excess kurtosis :math:`n M_4 / M_2^2 - 3` (NaN before any value, or when the variance is 0 up to rounding).

        The variance counts as 0 below :math:`10^{-12}|\bar x|` squared (float64 rounding of equal values) or
        below :math:`10^{-140}`, where the fourth moment would underflow.
        """
        if not self.count or self._degenerate():
            return math.nan
        return self.count * (self.m4 / self.m2) / self.m2 - 3.0


_FLOAT32_OR_NARROWER = (torch.float16, torch.bfloat16, torch.float32)
# below this largest deviation the fourth powers leave float32's normal range (2^-126): float64 instead
_FLOAT32_TINY_SPREAD = 2.0**-30
# rows shorter than this, in batches of fewer values than that, are reduced in float64: there the number
# of operations, not the data, sets the cost
_FLOAT32_MIN_ROW = 2**14
_FLOAT32_MIN_VALUES = 2**16
# values per block of the float32 reduction: a block's temporaries (256 KiB each) stay in a core's cache
_FLOAT32_BLOCK = 2**16


def _central_sums(rows: torch.Tensor) -> torch.Tensor:
    r"""Each row's mean and central sums :math:`M_2, M_3, M_4`, shape ``[R, 4]``, float64, on the rows' device.

    Float64 (and integer) rows are reduced in float64, and so are rows of fewer than 16384 values in
    batches of fewer than 65536. Longer rows, and larger batches, of float32 or narrower are reduced in
    float32, with no float64 copy of them (on a CPU 4x faster for a membrane of 2.4 million values, 2.4x
    for 40 rows of 3200, whose size, not the arithmetic, sets the cost): each row is centred
    on its float32 mean :math:`c`, exactly for every value within a factor 2 of it (Sterbenz), the
    powers of :math:`d = x - c` are summed block by block (on a CPU 65536 values at a time, so that the
    temporaries stay in cache) with torch's cascade sums (error about :math:`\log_2` of the block's
    size float32 roundings of the sum of the terms' sizes), the blocks' sums are added in float64, and
    the sums are moved to the row's mean :math:`c + e`, :math:`e = \sum d / n`, in float64. The moments
    are those of the float32 values to a relative 1e-6 or so, far below any sampling error of a
    membrane. Rows whose deviations are so small that their fourth powers would leave float32's normal
    range are reduced in float64.
    """
    n = rows.shape[1]
    if rows.dtype in _FLOAT32_OR_NARROWER and (n >= _FLOAT32_MIN_ROW or rows.numel() >= _FLOAT32_MIN_VALUES):
        rows = rows.float()
        centre = rows.mean(dim=1, keepdim=True)
        sums, spread = _power_sums(rows, centre)
        if not bool(((spread > 0) & (spread < _FLOAT32_TINY_SPREAD)).any()):
            return _shifted_sums(centre.squeeze(1).double(), sums, n)
    d = rows.to(torch.float64, copy=True)
    mean = d.mean(dim=1, keepdim=True)
    d.sub_(mean)
    d2 = d * d
    return torch.stack((mean.squeeze(1), d2.sum(dim=1), (d2 * d).sum(dim=1), d2.square_().sum(dim=1)), dim=1)


def _power_sums(rows: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the sums of ``d, d^2, d^3, d^4`` for ``d = rows - centre`` (float64, ``[R, 4]``), and max ``|d|``.

    Each block of columns is reduced in float32 and the blocks' sums are added in float64. Blocks are
    for a CPU's cache; on an accelerator, where each block would cost a dozen kernel launches, the row
    is one block.
    """
    columns = max(1, _FLOAT32_BLOCK // rows.shape[0]) if rows.device.type == "cpu" else rows.shape[1]
    blocks = [_block_power_sums(rows[:, i : i + columns], centre) for i in range(0, rows.shape[1], columns)]
    sums = torch.stack([powers for powers, _ in blocks]).double().sum(dim=0)
    spread = torch.stack([largest for _, largest in blocks]).amax(dim=0)
    return sums, spread


def _block_power_sums(block: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The float32 sums of ``d, d^2, d^3, d^4`` (``[R, 4]``) and max ``|d|`` of one block, ``d = block - centre``."""
    d = block - centre
    largest = d.abs().amax(dim=1)
    d2 = d * d
    return torch.stack((d.sum(dim=1), d2.sum(dim=1), (d2 * d).sum(dim=1), d2.square_().sum(dim=1)), dim=1), largest


def _shifted_sums(centre: torch.Tensor, sums: torch.Tensor, n: int) -> torch.Tensor:
    """The mean and central sums from the power sums ``sums`` of the deviations about ``centre`` (float64)."""
    s1, s2, s3, s4 = sums.unbind(dim=1)
    e = s1 / n  # the row's mean less the centre
    m2 = s2 - n * e * e
    m3 = s3 - 3.0 * e * s2 + 2.0 * n * e**3
    m4 = s4 - 4.0 * e * s3 + 6.0 * e * e * s2 - 3.0 * n * e**4
    return torch.stack((centre + e, m2.clamp_min(0.0), m3, m4.clamp_min(0.0)), dim=1)
