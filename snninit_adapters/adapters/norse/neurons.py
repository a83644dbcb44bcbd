r"""The catalogue: one extractor per known Norse neuron class, and the fallback to the probe for the others.

Norse keeps a neuron's parameters in ``module.p``, a NamedTuple that is a plain attribute (not in
``parameters()`` or the ``state_dict``), and its step size in ``module.dt``. Each extractor reads the
threshold measured from the membrane the neuron starts from, the same-step input gain :math:`g` (``dt *
tau_mem_inv`` for the LIF family, 1 for ``IAF``), the leak and the input delay (one step for ``LSNN``,
whose input joins the synaptic current after the membrane update); the package docstring lists them
all. Per-neuron gains (a ``tau_mem_inv`` tensor) are recorded as their mean, with each threshold
rescaled so that :math:`\theta / g` stays exact per neuron. A parameter tuple without the usual fields,
or a class no extractor knows (a user subclass), is measured with the black-box probe
(:mod:`~snninit_adapters.adapters.norse.probe`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snninit_adapters.adapters.common import average_gain, compact_values, cpu_float64
from snninit_adapters.adapters.norse.modules import FRAMEWORK, import_norse, norse_classes
from snninit_adapters.adapters.norse.probe import probed_neuron_record
from snninit_adapters.errors import SNNInitError
from snninit_adapters.neurons import NeuronRecord, Reset

__all__ = ["Extractor", "read_neuron"]

Extractor = Callable[[Any], NeuronRecord]
"""Reads one neuron class into a record."""


def _build_record(
    module: Any,
    *,
    threshold: torch.Tensor,
    gain: torch.Tensor,
    source: str,
    v_th: Any,
    reset: Reset = "hard",
    leak: torch.Tensor | None = None,
    delay: int = 0,
    notes: tuple[str, ...] = (),
    current_decay: float | None = None,
) -> NeuronRecord:
    """Build the record of a Norse neuron from its threshold and gain, per neuron or not.

    Args:
        module: The neuron.
        threshold: Its threshold, measured from the membrane it starts from (float64, per neuron or not).
        gain: Its same-step input gain (float64, per neuron or not).
        source: Where the threshold was read.
        v_th: The raw ``v_th`` parameter (a threshold that requires grad gets a note).
        reset: The reset kind.
        leak: The membrane's decay per step (its mean is recorded).
        delay: Steps before the input reaches the membrane.
        notes: Notes for the report.
        current_decay: The synaptic current's decay per step, if it has one.

    Returns:
        The record.
    """
    extra = list(notes)
    gain_value = compact_values(gain)
    if isinstance(gain_value, torch.Tensor):
        averaged = average_gain(threshold, gain_value, divide_first=True)
        threshold, gain_value = averaged.threshold, averaged.gain
        extra.append(
            f"per-neuron input gains {averaged.span}: the record uses their mean "
            "and rescales the thresholds so that theta / g stays exact per neuron"
        )
    learnable = isinstance(v_th, torch.Tensor) and v_th.requires_grad
    if learnable:
        extra.append(
            "its v_th requires grad, but Norse keeps p as a plain attribute: it is not in parameters() or the "
            "state_dict, so an optimiser only trains it if you pass it explicitly"
        )
    return NeuronRecord(
        framework=FRAMEWORK,
        kind=type(module).__name__,
        threshold=compact_values(threshold),
        input_gain=gain_value,
        threshold_source=source,
        leak=None if leak is None else float(leak.mean()),
        reset=reset,
        input_delay=delay,
        current_decay=current_decay,
        learnable_threshold=learnable,
        notes=tuple(extra),
    )


def _step_size(module: Any) -> float:
    return float(module.dt)


def _lif_record(module: Any, p: Any, prefix: str, *, delay: int = 0, notes: tuple[str, ...] = ()) -> NeuronRecord:
    """The record of a LIF-like neuron with parameters ``p`` (found at ``module.<prefix>``)."""
    gain = _step_size(module) * cpu_float64(p.tau_mem_inv)
    synaptic = getattr(p, "tau_syn_inv", None)
    current_decay = None if synaptic is None else float(1 - _step_size(module) * cpu_float64(synaptic).mean())
    return _build_record(
        module,
        threshold=cpu_float64(p.v_th) - cpu_float64(p.v_leak),
        gain=gain,
        source=f"{prefix}.v_th - {prefix}.v_leak",
        v_th=p.v_th,
        leak=1 - gain,
        delay=delay,
        notes=notes,
        current_decay=current_decay,
    )


def _read_lif(module: Any) -> NeuronRecord:
    return _lif_record(module, module.p, "p")


def _read_lif_refrac(module: Any) -> NeuronRecord:
    return _lif_record(module, module.p.lif, "p.lif")


def _read_lif_mc(module: Any) -> NeuronRecord:
    return _lif_record(module, module.p, "p", notes=("the compartment coupling g_coupling acts after the spike",))


def _read_lif_correlation(module: Any) -> NeuronRecord:
    return _lif_record(
        module,
        module.p.lif_parameters,
        "p.lif_parameters",
        notes=(
            "LIFCorrelation takes its input and recurrent weights as forward arguments: they belong to the "
            "caller and are not initialised",
        ),
    )


def _read_lif_box(module: Any) -> NeuronRecord:
    p = module.p
    reset_module = import_norse("functional.reset")
    method = getattr(p, "reset_method", reset_module.reset_value)
    notes: tuple[str, ...] = ()
    reset: Reset = "hard"
    if method is reset_module.reset_subtract:
        reset = "soft"
    elif method is not reset_module.reset_value:
        notes = (f"custom reset_method {getattr(method, '__name__', method)!r}; recorded as a hard reset",)
    return dataclasses.replace(_lif_record(module, p, "p", notes=notes), reset=reset)


def _read_iaf(module: Any) -> NeuronRecord:
    p = module.p
    return _build_record(
        module,
        threshold=cpu_float64(p.v_th) - cpu_float64(p.v_reset),
        gain=torch.tensor(1.0, dtype=torch.float64),
        source="p.v_th - p.v_reset (IAF starts at v_reset)",
        v_th=p.v_th,
        leak=torch.tensor(1.0, dtype=torch.float64),
    )


_LSNN_NOTE = (
    "LSNN adds its input to the synaptic current after the membrane update, so it reaches the membrane one "
    "step late (gain dt * tau_mem_inv); its threshold adapts: b relaxes to p.v_th and grows by p.beta per spike"
)


def _read_lsnn(module: Any) -> NeuronRecord:
    return _lif_record(module, module.p, "p", delay=1, notes=(_LSNN_NOTE,))


def _exponential_lif_record(module: Any, p: Any, prefix: str) -> NeuronRecord:
    """The record of an exponential (``LIFEx``/``LIFAdEx``) neuron with parameters ``p`` at ``module.<prefix>``."""
    gain = _step_size(module) * cpu_float64(p.tau_mem_inv)
    v_leak, v_th, delta_t = cpu_float64(p.v_leak), cpu_float64(p.v_th), cpu_float64(p.delta_T)
    # from v = v_leak (and adaptation a = 0) one step without input adds the exponential term
    rest = v_leak + gain * delta_t * torch.exp((v_leak - v_th) / delta_t)
    return _build_record(
        module,
        threshold=v_th - rest,
        gain=gain,
        source=f"{prefix}.v_th - (membrane after one step from {prefix}.v_leak without input)",
        v_th=p.v_th,
        leak=1 - gain,
        notes=(f"{type(module).__name__}'s exponential term makes theta / g exact for the first step only",),
    )


def _read_lif_ex(module: Any) -> NeuronRecord:
    return _exponential_lif_record(module, module.p, "p")


def _read_lif_adex_refrac(module: Any) -> NeuronRecord:
    return _exponential_lif_record(module, module.p.lif_adex, "p.lif_adex")


def _read_lif_mc_refrac(module: Any) -> NeuronRecord:
    p = module.p.lif
    gain = _step_size(module) * cpu_float64(p.tau_mem_inv)
    coupling = cpu_float64(module.g_coupling)
    v_leak = cpu_float64(p.v_leak)
    # the input current reaches v one step late; the coupling (without dt) moves v from v_leak meanwhile
    v1 = v_leak * torch.ones(coupling.shape[0], dtype=torch.float64)
    v1 = v1 + v1 @ coupling.T
    v2 = v1 + gain * (v_leak - v1) + v1 @ coupling.T
    return _build_record(
        module,
        threshold=cpu_float64(p.v_th) - v2,
        gain=gain,
        source="p.lif.v_th - (membrane after two steps from p.lif.v_leak without input)",
        v_th=p.v_th,
        leak=1 - gain,
        delay=1,
        notes=("LIFMCRefracRecurrentCell adds its input to the synaptic current after the membrane update",),
    )


def _read_izhikevich(module: Any) -> NeuronRecord:
    p = module.p
    start = module.spiking_method.s
    gain = _step_size(module) * cpu_float64(p.tau_inv)
    v0, u0 = cpu_float64(start.v), cpu_float64(start.u)
    rest = v0 + gain * (cpu_float64(p.sq) * v0**2 + cpu_float64(p.mn) * v0 + cpu_float64(p.bias) - u0)
    return _build_record(
        module,
        threshold=cpu_float64(p.v_th) - rest,
        gain=gain,
        source="p.v_th - (membrane after one step from spiking_method.s without input)",
        v_th=p.v_th,
        notes=("the Izhikevich membrane is quadratic: theta / g is exact for the first step only",),
    )


def _read_coba(module: Any) -> NeuronRecord:
    raise SNNInitError(
        "norse CobaLIFCell ignores its input: in norse 1.1 coba_lif_step overwrites the input conductances "
        "g_e/g_i with the recurrent ones (coba_lif.py), so no weight that feeds it reaches its membrane and "
        "its firing cannot be set by initialisation. Replace it (e.g. with LIFRecurrentCell) or fix coba_lif_step"
    )


@functools.cache
def _extractor_table() -> dict[type, Extractor]:
    """The extractors by class (imports Norse)."""
    lif = import_norse("module.lif")
    refrac = import_norse("module.lif_refrac")
    lsnn = import_norse("module.lsnn")
    ex = import_norse("module.lif_ex")
    adex = import_norse("module.lif_adex")
    adex_refrac = import_norse("module.lif_adex_refrac")
    iaf = import_norse("module.iaf")
    izhikevich = import_norse("module.izhikevich")
    table: dict[type, Extractor] = {
        import_norse("module.lif_box").LIFBoxCell: _read_lif_box,
        import_norse("module.lif_mc").LIFMCRecurrentCell: _read_lif_mc,
        import_norse("module.lif_mc_refrac").LIFMCRefracRecurrentCell: _read_lif_mc_refrac,
        import_norse("module.lif_correlation").LIFCorrelation: _read_lif_correlation,
        norse_classes().coba: _read_coba,
    }
    groups: list[tuple[Extractor, tuple[type, ...]]] = [
        (_read_lif, (lif.LIFCell, lif.LIF, lif.LIFRecurrentCell, lif.LIFRecurrent)),
        (_read_lif_refrac, (refrac.LIFRefracCell, refrac.LIFRefracRecurrentCell, refrac.LIFRefracRecurrent)),
        (_read_iaf, (iaf.IAFCell, iaf.IAF)),
        (_read_lsnn, (lsnn.LSNNCell, lsnn.LSNN, lsnn.LSNNRecurrentCell, lsnn.LSNNRecurrent)),
        (_read_lif_ex, (ex.LIFExCell, ex.LIFEx, ex.LIFExRecurrentCell, ex.LIFExRecurrent)),
        (_read_lif_ex, (adex.LIFAdExCell, adex.LIFAdEx, adex.LIFAdExRecurrentCell, adex.LIFAdExRecurrent)),
        (
            _read_lif_adex_refrac,
            (adex_refrac.LIFAdExRefracCell, adex_refrac.LIFAdExRefracRecurrentCell, adex_refrac.LIFAdExRefracRecurrent),
        ),
        (
            _read_izhikevich,
            (
                izhikevich.IzhikevichCell,
                izhikevich.Izhikevich,
                izhikevich.IzhikevichRecurrentCell,
                izhikevich.IzhikevichRecurrent,
            ),
        ),
    ]
    for extractor, kinds in groups:
        table.update(dict.fromkeys(kinds, extractor))
    return table


def read_neuron(module: nn.Module) -> NeuronRecord:
    """Read a Norse neuron: by its exact class, else with the black-box probe.

    Args:
        module: A Norse neuron.

    Returns:
        The record.

    Raises:
        SNNInitError: For ``CobaLIFCell``, and if a neuron can neither be read nor probed.
    """
    kind = type(module)
    extractor = _extractor_table().get(kind)
    if extractor is None:
        known = next((base.__name__ for base in kind.__mro__[1:] if base in _extractor_table()), None)
        reason = f"{kind.__name__} is not a known Norse neuron" + (f" (a subclass of {known})" if known else "")
        return probed_neuron_record(module, reason)
    try:
        return extractor(module)
    except (AttributeError, TypeError, RuntimeError) as error:  # a custom p without the usual fields
        return probed_neuron_record(module, f"{kind.__name__}'s parameters could not be read ({error})")
