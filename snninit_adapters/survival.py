"""Exact survival of activity along the fully-connected spiking chains of a planned model.

A chain is a run ``neuron -> Linear -> neuron -> Linear -> ...`` in which each linear layer is fed by
one neuron layer (or the data) and drives one neuron layer. Under the planned weights the spike
counts along it follow the exact finite-width law of :mod:`snninit_adapters.theory.finite_width`:
the report gives the probability that a single step's activity reaches the chain's last neurons,
and advice when it is below 0.99 (the width or threshold that would reach it, estimated from the
precomputed :mod:`~snninit_adapters.theory.survival_table`, so the advice costs microseconds).
Convolutions share weights across positions, so the rows of their weight matrix are not independent
and the law does not apply to them exactly; they are left out (the report says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from snninit_adapters.errors import SNNInitError
from snninit_adapters.model import INPUT
from snninit_adapters.neurons import NeuronRecord
from snninit_adapters.report import ChainSurvival, LayerReport
from snninit_adapters.theory import SurvivalTable, WeightLaw, load_survival_table, propagate_spike_counts

__all__ = ["ADVICE_MAX_WIDTH", "ChainSurvival", "FullyConnectedLink", "chain_survival", "fully_connected_link"]


SURVIVAL_TARGET = 0.99

CHAIN_MAX_WORK = 50_000_000
"""Transition-matrix entries the survival of one chain may use (a bounded cost in every report)."""


@dataclass(frozen=True)
class FullyConnectedLink:
    """One linear layer between one upstream source and one downstream neuron layer.

    Attributes:
        layer: The linear layer's name.
        upstream: The neuron layer feeding it, or ``"<input>"``.
        downstream: The neuron layer it drives.
        n_in: Its fan-in (the upstream layer's width).
        n_out: Its output width (the downstream layer's width).
        p_in: Firing probability of the upstream neurons (None when the data feeds it).
        weight_std: Std of the effective weights on the downstream membrane: ``g * a * std(w)``.
        theta: The downstream neurons' (mean) threshold, in membrane units.
        membrane_std: The downstream membrane's planned std (the target), used when the data feeds the layer.
    """

    layer: str
    upstream: str
    downstream: str
    n_in: int
    n_out: int
    p_in: float | None
    weight_std: float
    theta: float
    membrane_std: float


def fully_connected_link(
    report: LayerReport,
    weight: torch.Tensor,
    law: WeightLaw,
    records: Mapping[str, NeuronRecord],
    target_variance: float,
) -> FullyConnectedLink | None:
    """The planned layer as a link of a fully-connected chain, if it is one: 2-D weight, one source, one neuron.

    Args:
        report: The layer's report row.
        weight: Its weight.
        law: The law it is drawn from.
        records: The model's neuron records by name.
        target_variance: The membrane variance the plan aims at.

    Returns:
        The link, or None for any other layer.
    """
    if weight.dim() != 2 or len(report.upstream) != 1 or len(report.downstream) != 1:
        return None
    up, down = report.upstream[0], report.downstream[0]
    if down.name not in records or (up.name != INPUT and up.name not in records):
        return None
    amplitude = records[up.name].spike_amplitude if up.name != INPUT else 1.0
    record = records[down.name]
    return FullyConnectedLink(
        layer=report.name,
        upstream=up.name,
        downstream=down.name,
        n_in=report.fan_in,
        n_out=int(weight.shape[0]),
        p_in=report.firing_probability,
        weight_std=record.input_gain * amplitude * law.std,
        theta=float(np.mean(record.theta)),
        membrane_std=math.sqrt(target_variance),
    )


def _chains(links: list[FullyConnectedLink]) -> list[list[FullyConnectedLink]]:
    by_upstream: dict[str, list[FullyConnectedLink]] = {}
    for link in links:
        by_upstream.setdefault(link.upstream, []).append(link)
    downstream = {link.downstream for link in links}
    chains = []
    for link in links:
        if link.upstream in downstream and len(by_upstream.get(link.upstream, [])) == 1:
            continue  # continues a chain started elsewhere
        chain = [link]
        while len(next_links := by_upstream.get(chain[-1].downstream, [])) == 1 and next_links[0] not in chain:
            chain.append(next_links[0])
        chains.append(chain)
    return chains


ADVICE_MAX_WIDTH = 4096
"""The widest layer the report's advice considers (the widest of the precomputed survival table)."""


def _advice_table() -> SurvivalTable | None:
    try:
        table = load_survival_table()
    except SNNInitError:
        return None
    return table if table.survival == SURVIVAL_TARGET and table.widths[-1] == ADVICE_MAX_WIDTH else None


def _round_up(width: float) -> int:
    """The width rounded up to two significant figures (all of them below 100)."""
    whole = math.ceil(width - 1e-9)
    step = 10 ** max(len(str(whole)) - 2, 0)
    return int(-(-whole // step) * step)


def _advice(chain: list[FullyConnectedLink]) -> str:
    """What to change to reach the target, read from the survival table (an estimate; no search at report time)."""
    widths = {link.n_out for link in chain}
    thetas = {round(link.theta / link.membrane_std, 6) for link in chain}
    table = _advice_table()
    generic = f"widen the narrowest layers or lower the thresholds to reach {SURVIVAL_TARGET}"
    if table is None or len(widths) != 1 or len(thetas) != 1:
        return generic
    width, theta = widths.pop(), thetas.pop()
    needed, highest = table.width(theta, len(chain)), table.threshold(width, len(chain))
    if needed is None and highest is None:
        return generic
    if needed is None:
        wider = "use wider layers"
    elif math.isinf(needed):
        wider = f"no width up to about {ADVICE_MAX_WIDTH} suffices"
    else:
        wider = f"use layers of at least about {_round_up(needed)} neurons"
    if highest == 0.0:
        lower = f"; no threshold of 0 or more suffices at width {width}"
    else:
        value = "a lower value" if highest is None else f"about {math.floor(highest * 100) / 100:.2f}"
        lower = f"{'; use' if needed is not None and math.isinf(needed) else ', or'} thresholds up to {value}"
    return f"to reach {SURVIVAL_TARGET} {wider}{lower} (in membrane stds; approximate, from the survival table)"


def _is_readout(widths: list[int]) -> bool:
    """The chain ends in a narrow readout: its last neuron layer is narrower than every layer before it."""
    return len(widths) >= 2 and widths[-1] < min(widths[:-1])


def _readout_note(chain: list[FullyConnectedLink], widths: list[int], hidden: float) -> str:
    note = (f"the last layer is a {widths[-1]}-neuron readout, which one step can leave silent however wide the "
            "hidden layers (more steps or a lower readout threshold help)")  # fmt: skip
    if len(chain) < 2:
        return note
    return f"{note}; the hidden layers keep activity with probability {hidden:.4g}"


def _paper_stds(chain: list[FullyConnectedLink], p_first: float) -> list[float]:
    """Effective weight stds the paper's rule would give along the chain (membranes at their target spread)."""
    stds, p_in = [], p_first
    for link in chain:
        stds.append(link.membrane_std / float(np.sqrt(link.n_in * p_in)))
        p_in = float(stats.norm.sf(link.theta / link.membrane_std))
    return stds


def _chain_result(chain: list[FullyConnectedLink], rest: list[FullyConnectedLink], widths: list[int],
                  thresholds: list[float], method: str) -> ChainSurvival:  # fmt: skip
    names = tuple(link.layer for link in chain)
    try:
        result = propagate_spike_counts(widths, thresholds, [link.weight_std for link in rest], max_work=CHAIN_MAX_WORK)
    except (SNNInitError, OverflowError, MemoryError) as error:
        return ChainSurvival(names, tuple(widths), math.nan, None, f"survival not computed ({error})")
    survival = float(np.clip(result.survival[-1], 0.0, 1.0))
    readout = _is_readout(widths)
    hidden = float(np.clip(result.survival[-2], 0.0, 1.0)) if readout else survival
    advice, part = None, rest[:-1] if readout else rest
    if hidden < SURVIVAL_TARGET and method != "micheli2024":
        p_first = float(stats.norm.sf(thresholds[0]))
        stds = _paper_stds(rest, p_first)
        try:
            paper = propagate_spike_counts(widths, thresholds, stds, max_work=CHAIN_MAX_WORK).survival[-1]
            advice = f"the paper's initialisation (method='micheli2024') gives {float(paper):.4g} on this chain"
        except (SNNInitError, OverflowError, MemoryError):
            advice = f"the paper's initialisation (method='micheli2024') may reach {SURVIVAL_TARGET}"
    elif hidden < SURVIVAL_TARGET and part:
        advice = _advice(part)
    note = _readout_note(rest, widths, hidden) if readout else None
    return ChainSurvival(names, tuple(widths), survival, advice, note)


def chain_survival(links: list[FullyConnectedLink], *, method: str = "micheli2024") -> list[ChainSurvival]:
    """Exact single-step survival along every fully-connected chain made of ``links``.

    Args:
        links: The model's linear layers with one upstream source and one downstream neuron layer.
        method: The method that planned the weights; for another than the paper's, the advice gives the
            paper's survival on the same chain.

    Returns:
        One result per chain, in model order.
    """
    results = []
    for chain in _chains(links):
        first = chain[0]
        if first.p_in is None:  # the data feeds the first layer: start from its neurons
            widths = [first.n_out]
            thresholds = [first.theta / first.membrane_std]
            rest = chain[1:]
        else:
            widths = [first.n_in]
            thresholds = [float(stats.norm.isf(first.p_in))]
            rest = chain
        if not rest:
            continue
        widths += [link.n_out for link in rest]
        thresholds += [link.theta for link in rest]
        results.append(_chain_result(chain, rest, widths, thresholds, method))
    return results
