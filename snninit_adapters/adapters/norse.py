r"""Adapter for Norse (1.1): neurons are ``SNNCell``/``SNN``/``SNNRecurrentCell``/``SNNRecurrent`` modules.

Norse keeps a neuron's parameters in ``module.p``, a NamedTuple that is a plain attribute (not in
``parameters()`` or the ``state_dict``), and its step size in ``module.dt``. Modules are stateless: the
state is passed in and returned (``z, s = cell(x, s)``), a fresh one when ``s`` is None.

Every known class is read by an extractor for its exact type. The threshold is measured from the
membrane the neuron starts from, so that :math:`u = g\,x` crosses it exactly when the neuron fires in
the step its input arrives (the one-step rule). Threshold, input gain :math:`g` and input delay:

- ``LIFCell``, ``LIF``, ``LIFRecurrentCell``, ``LIFRecurrent``, ``LIFMCRecurrentCell``, ``LIFBoxCell``:
  ``p.v_th - p.v_leak``, ``g = dt * tau_mem_inv``, no delay. ``LIFRefracCell``/``LIFRefracRecurrent(Cell)``
  read the same from ``p.lif``, ``LIFCorrelation`` from ``p.lif_parameters``.
- ``IAFCell``, ``IAF``: ``p.v_th - p.v_reset`` (they start at ``v_reset``), ``g = 1``.
- ``LSNNCell``, ``LSNN``, ``LSNNRecurrent(Cell)``: ``p.v_th - p.v_leak``, ``g = dt * tau_mem_inv``, one step
  late (the input joins the synaptic current after the membrane update). ``LIFMCRefracRecurrentCell``
  likewise, from ``p.lif``, with the rest moved by the compartment coupling.
- ``LIFEx*``, ``LIFAdEx*``, ``LIFAdExRefrac*``: ``p.v_th`` minus the membrane after one step from rest
  without input (the exponential term), ``g = dt * tau_mem_inv``.
- ``Izhikevich*``: ``p.v_th`` minus the membrane after one step from ``spiking_method.s`` without input
  (the quadratic term), ``g = dt * tau_inv``.

With Norse's defaults (``dt = 1e-3``, ``tau_mem_inv = 100``) ``g = 0.1``: a LIF neuron needs a same-step
input of 10 to reach ``v_th = 1``. In the synaptic models (LIF, LSNN, Ex, AdEx) the input enters a
current that decays by ``1 - dt * tau_syn_inv`` (0.8) per step and keeps driving the membrane: one input
reaches it with 0.1, 0.17, 0.217, ... over the next steps, and a held input charges it with 0.1, 0.27,
0.487, ... towards the DC gain 5. The one-step rule sets the first step only. Per-neuron ``v_th``
tensors (``p = p._replace(v_th=tensor)``) are read as such.

``CobaLIFCell`` is refused: in Norse 1.1 ``coba_lif_step`` overwrites the input conductances with the
recurrent ones, so its input weights have no effect. The readouts ``LICell``, ``LI``, ``LIBoxCell`` and
``LILinearCell`` have no threshold and are not neurons: the layer that drives them is a readout, and
``LILinearCell`` itself is a weight layer (its ``input_weights``, shape ``(hidden, input)``). A class
that no extractor knows (a user subclass) is measured with the black-box probe: :math:`\theta / g` by
bisection, and :math:`g` from the membrane ``v`` in the state it returns.

Norse is imported only when a model contains one of its modules.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import math
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from snninit_adapters.errors import SNNInitError
from snninit_adapters.hookspecs import hookimpl
from snninit_adapters.neurons import NeuronRecord, Reset
from snninit_adapters.plugins import require_framework
from snninit_adapters.probe import probe_input_threshold
from snninit_adapters.weights import OwnedWeight, WeightLayerSpec

FRAMEWORK = "norse"

Extractor = Callable[[Any], NeuronRecord]


def _ours(module: nn.Module) -> bool:
    return any(cls.__module__.split(".")[0] == FRAMEWORK for cls in type(module).__mro__)


def _norse(submodule: str) -> Any:
    return require_framework(FRAMEWORK, f"norse.torch.{submodule}")


class _Classes(NamedTuple):
    neurons: tuple[type, ...]
    readouts: tuple[type, ...]
    sequences: tuple[type, ...]
    li_linear: type
    coba: type


@functools.cache
def _classes() -> _Classes:
    snn = _norse("module.snn")
    leaky = _norse("module.leaky_integrator")
    box = _norse("module.leaky_integrator_box")
    coba = _norse("module.coba_lif").CobaLIFCell
    correlation = _norse("module.lif_correlation").LIFCorrelation
    return _Classes(
        neurons=(snn.SNNCell, snn.SNN, snn.SNNRecurrentCell, snn.SNNRecurrent, coba, correlation),
        readouts=(leaky.LICell, leaky.LI, leaky.LILinearCell, box.LIBoxCell),
        sequences=(snn.SNN, snn.SNNRecurrent),
        li_linear=leaky.LILinearCell,
        coba=coba,
    )


def _is_neuron(module: nn.Module) -> bool:
    classes = _classes()
    return isinstance(module, classes.neurons) and not isinstance(module, classes.readouts)


@hookimpl
def snninit_is_neuron(module: nn.Module) -> bool | None:
    """Claim Norse neurons; say no for Norse's readouts (leaky integrators, which never spike)."""
    if not _ours(module):
        return None
    classes = _classes()
    if isinstance(module, classes.readouts):
        return False
    return True if isinstance(module, classes.neurons) else None


@hookimpl
def snninit_weight_layer(module: nn.Module) -> WeightLayerSpec | None:
    """``LILinearCell``: a linear readout fused with a leaky integrator; its weight is ``input_weights``."""
    if not (_ours(module) and isinstance(module, _classes().li_linear)):
        return None
    return WeightLayerSpec(kind=type(module).__name__, weight="input_weights", bias=None)


# ----------------------------------------------------------------------------------------------------
# Reading the known classes


def _t(value: Any) -> torch.Tensor:
    return torch.as_tensor(value).detach().to(device="cpu", dtype=torch.float64)


def _compact(value: torch.Tensor) -> float | torch.Tensor:
    """A float when all values agree, else the per-neuron tensor."""
    flat = value.reshape(-1)
    if flat.numel() == 1 or bool((flat == flat[0]).all()):
        return float(flat[0])
    return value.clone()


def _build(
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
) -> NeuronRecord:
    extra = list(notes)
    compact_gain = _compact(gain)
    if isinstance(compact_gain, torch.Tensor):
        mean_gain = compact_gain.mean()
        threshold = threshold / compact_gain * mean_gain
        compact_gain = float(mean_gain)
        extra.append(
            f"per-neuron input gains {float(gain.min()):.4g}..{float(gain.max()):.4g}: the record uses their mean "
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
        threshold=_compact(threshold),
        input_gain=compact_gain,
        threshold_source=source,
        leak=None if leak is None else float(leak.mean()),
        reset=reset,
        input_delay=delay,
        learnable_threshold=learnable,
        notes=tuple(extra),
    )


def _dt(module: Any) -> float:
    return float(module.dt)


def _lif(module: Any, p: Any, prefix: str, *, delay: int = 0, notes: tuple[str, ...] = ()) -> NeuronRecord:
    gain = _dt(module) * _t(p.tau_mem_inv)
    return _build(
        module,
        threshold=_t(p.v_th) - _t(p.v_leak),
        gain=gain,
        source=f"{prefix}.v_th - {prefix}.v_leak",
        v_th=p.v_th,
        leak=1 - gain,
        delay=delay,
        notes=notes,
    )


def _read_lif(module: Any) -> NeuronRecord:
    return _lif(module, module.p, "p")


def _read_lif_refrac(module: Any) -> NeuronRecord:
    return _lif(module, module.p.lif, "p.lif")


def _read_lif_mc(module: Any) -> NeuronRecord:
    return _lif(module, module.p, "p", notes=("the compartment coupling g_coupling acts after the spike",))


def _read_lif_correlation(module: Any) -> NeuronRecord:
    return _lif(
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
    reset_module = _norse("functional.reset")
    method = getattr(p, "reset_method", reset_module.reset_value)
    notes: tuple[str, ...] = ()
    reset: Reset = "hard"
    if method is reset_module.reset_subtract:
        reset = "soft"
    elif method is not reset_module.reset_value:
        notes = (f"custom reset_method {getattr(method, '__name__', method)!r}; recorded as a hard reset",)
    return dataclasses.replace(_lif(module, p, "p", notes=notes), reset=reset)


def _read_iaf(module: Any) -> NeuronRecord:
    p = module.p
    return _build(
        module,
        threshold=_t(p.v_th) - _t(p.v_reset),
        gain=torch.tensor(1.0, dtype=torch.float64),
        source="p.v_th - p.v_reset (IAF starts at v_reset)",
        v_th=p.v_th,
    )


_LSNN_NOTE = (
    "LSNN adds its input to the synaptic current after the membrane update, so it reaches the membrane one "
    "step late (gain dt * tau_mem_inv); its threshold adapts: b relaxes to p.v_th and grows by p.beta per spike"
)


def _read_lsnn(module: Any) -> NeuronRecord:
    return _lif(module, module.p, "p", delay=1, notes=(_LSNN_NOTE,))


def _exponential(module: Any, p: Any, prefix: str) -> NeuronRecord:
    gain = _dt(module) * _t(p.tau_mem_inv)
    v_leak, v_th, delta_t = _t(p.v_leak), _t(p.v_th), _t(p.delta_T)
    # from v = v_leak (and adaptation a = 0) one step without input adds the exponential term
    rest = v_leak + gain * delta_t * torch.exp((v_leak - v_th) / delta_t)
    return _build(
        module,
        threshold=v_th - rest,
        gain=gain,
        source=f"{prefix}.v_th - (membrane after one step from {prefix}.v_leak without input)",
        v_th=p.v_th,
        leak=1 - gain,
        notes=(f"{type(module).__name__}'s exponential term makes theta / g exact for the first step only",),
    )


def _read_lif_ex(module: Any) -> NeuronRecord:
    return _exponential(module, module.p, "p")


def _read_lif_adex_refrac(module: Any) -> NeuronRecord:
    return _exponential(module, module.p.lif_adex, "p.lif_adex")


def _read_lif_mc_refrac(module: Any) -> NeuronRecord:
    p = module.p.lif
    gain = _dt(module) * _t(p.tau_mem_inv)
    coupling = _t(module.g_coupling)
    v_leak = _t(p.v_leak)
    # the input current reaches v one step late; the coupling (without dt) moves v from v_leak meanwhile
    v1 = v_leak * torch.ones(coupling.shape[0], dtype=torch.float64)
    v1 = v1 + v1 @ coupling.T
    v2 = v1 + gain * (v_leak - v1) + v1 @ coupling.T
    return _build(
        module,
        threshold=_t(p.v_th) - v2,
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
    gain = _dt(module) * _t(p.tau_inv)
    v0, u0 = _t(start.v), _t(start.u)
    rest = v0 + gain * (_t(p.sq) * v0**2 + _t(p.mn) * v0 + _t(p.bias) - u0)
    return _build(
        module,
        threshold=_t(p.v_th) - rest,
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
def _extractors() -> dict[type, Extractor]:
    lif = _norse("module.lif")
    refrac = _norse("module.lif_refrac")
    lsnn = _norse("module.lsnn")
    ex = _norse("module.lif_ex")
    adex = _norse("module.lif_adex")
    adex_refrac = _norse("module.lif_adex_refrac")
    iaf = _norse("module.iaf")
    izhikevich = _norse("module.izhikevich")
    table: dict[type, Extractor] = {
        _norse("module.lif_box").LIFBoxCell: _read_lif_box,
        _norse("module.lif_mc").LIFMCRecurrentCell: _read_lif_mc,
        _norse("module.lif_mc_refrac").LIFMCRefracRecurrentCell: _read_lif_mc_refrac,
        _norse("module.lif_correlation").LIFCorrelation: _read_lif_correlation,
        _classes().coba: _read_coba,
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


# ----------------------------------------------------------------------------------------------------
# The black-box probe for classes no extractor knows

_FRESH = object()


class _Stepper:
    """Runs copies of a Norse neuron one step at a time on a constant input, threading their state.

    Cells are called as ``neuron(x, state)`` (``state=None`` at first) and sequence modules on ``x[None]``
    (one time step). A neuron that owns ``input_weights`` gets them replaced, on its copy, by a matrix that
    hands input 0 to every neuron (and its recurrent weights zeroed), so the constant reaches each neuron as is.
    """

    def __init__(self, module: nn.Module) -> None:
        self.sequence = isinstance(module, _classes().sequences)
        weights = getattr(module, "input_weights", None)
        self.weighted = isinstance(weights, torch.Tensor) and weights.dim() == 2
        self.states: weakref.WeakKeyDictionary[nn.Module, Any] = weakref.WeakKeyDictionary()
        self.device = _device(module)

    def _prepare(self, neuron: Any) -> None:
        if not self.weighted:
            return
        with torch.no_grad():
            neuron.input_weights.zero_()
            neuron.input_weights[:, 0] = 1.0
            recurrent = getattr(neuron, "recurrent_weights", None)
            if isinstance(recurrent, torch.Tensor):
                recurrent.zero_()

    def step(self, neuron: Any, x: torch.Tensor) -> torch.Tensor:
        """One step of ``neuron`` (a copy) on ``x``; returns its spikes and keeps its state."""
        state = self.states.get(neuron, _FRESH)
        if state is _FRESH:
            self._prepare(neuron)
            state = None
        x = x.to(self.device)
        if self.weighted:
            value = torch.zeros(*x.shape[:-1], neuron.input_weights.shape[1], dtype=x.dtype, device=x.device)
            value[..., 0] = x[..., 0]
            x = value
        out = neuron(x.unsqueeze(0) if self.sequence else x, state)
        spikes, new_state = (out[0], out[1]) if isinstance(out, tuple) and len(out) == 2 else (out, None)
        self.states[neuron] = new_state
        result: torch.Tensor = spikes[0] if self.sequence else spikes
        return result

    def membrane(self, module: nn.Module, value: float, steps: int) -> torch.Tensor | None:
        """The membrane ``v`` of a fresh copy after ``steps`` steps of a constant input, or None if it spiked."""
        replica = copy.deepcopy(module)
        replica.eval()
        x = torch.full((1, 4), value)
        with torch.no_grad():
            spiked = any(bool((self.step(replica, x) > 0).any()) for _ in range(steps))
        found = _membrane_of(self.states.get(replica))
        return None if spiked or found is None else _t(found)


def _device(module: nn.Module) -> torch.device:
    """Where the neuron computes: its first parameter, buffer or tensor in ``p`` (CPU if none)."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    if first is not None:
        return first.device
    stack = [getattr(module, "p", None)]
    while stack:
        value = stack.pop()
        if isinstance(value, torch.Tensor):
            return value.device
        if isinstance(value, tuple):
            stack.extend(value)
    return torch.device("cpu")


def _membrane_of(state: Any) -> torch.Tensor | None:
    """The field ``v`` of a (possibly nested) Norse state NamedTuple."""
    fields = getattr(state, "_fields", None)
    if not isinstance(state, tuple) or fields is None:
        return None
    membrane = getattr(state, "v", None) if "v" in fields else None
    if isinstance(membrane, torch.Tensor):
        return membrane
    for value in state:
        found = _membrane_of(value)
        if found is not None:
            return found
    return None


def _measured_gain(stepper: _Stepper, module: nn.Module, theta_in: float, delay: int) -> float | None:
    """Input gain from the state's membrane: (v(c) - v(0)) / c at half the input threshold."""
    if not theta_in > 0:
        return None
    value = theta_in / 2
    try:
        driven = stepper.membrane(module, value, delay + 1)
        rest = stepper.membrane(module, 0.0, delay + 1)
    except Exception:  # the probe already ran it; anything odd here means "not measurable"
        return None
    if driven is None or rest is None:
        return None
    gain = float(((driven - rest) / value).mean())
    return gain if math.isfinite(gain) and gain > 0 else None


def _probe_record(module: nn.Module, reason: str) -> NeuronRecord:
    kind = type(module)
    stepper = _Stepper(module)
    delay = 0
    try:
        theta_in = probe_input_threshold(module, stepper.step)
        if not math.isfinite(theta_in):
            delay = 1
            theta_in = probe_input_threshold(module, stepper.step, steps=2)
    except SNNInitError:
        raise
    except Exception as error:
        raise SNNInitError(
            f"cannot read the threshold of {kind.__module__}.{kind.__name__} ({reason}), and probing it failed: "
            f"{type(error).__name__}: {error}. Write an adapter for this neuron"
        ) from error
    if not math.isfinite(theta_in):
        raise SNNInitError(
            f"cannot read the threshold of {kind.__module__}.{kind.__name__} ({reason}), and the probe found no "
            "input up to 1e4 that makes it spike within two steps; write an adapter for this neuron"
        )
    notes = [f"{reason}; its threshold theta / g = {theta_in:.4g} (input units) was probed"]
    if delay:
        notes.append("it did not spike in the step of its input: its input reaches the membrane one step late")
    gain = _measured_gain(stepper, module, theta_in, delay)
    if gain is None:
        gain = 1.0
        source = "black-box probe (theta / g in input units; no membrane v in its state to measure g)"
        notes.append("its gain could not be measured, so threshold and membrane are in input units (g = 1)")
    else:
        source = "black-box probe (theta / g by bisection, g from the membrane v in its state)"
    return NeuronRecord(
        framework=FRAMEWORK,
        kind=kind.__name__,
        threshold=gain * theta_in,
        input_gain=gain,
        threshold_source=source,
        input_delay=delay,
        probed=True,
        notes=tuple(notes),
    )


@hookimpl
def snninit_neuron_record(module: nn.Module) -> NeuronRecord | None:
    """Read a Norse neuron: by its exact class, else with the black-box probe."""
    if not (_ours(module) and _is_neuron(module)):
        return None
    kind = type(module)
    extractor = _extractors().get(kind)
    if extractor is None:
        known = next((base.__name__ for base in kind.__mro__[1:] if base in _extractors()), None)
        reason = f"{kind.__name__} is not a known Norse neuron" + (f" (a subclass of {known})" if known else "")
        return _probe_record(module, reason)
    try:
        return extractor(module)
    except (AttributeError, TypeError, RuntimeError) as error:  # a custom p without the usual fields
        return _probe_record(module, f"{kind.__name__}'s parameters could not be read ({error})")


@hookimpl
def snninit_owned_weights(module: nn.Module) -> list[OwnedWeight] | None:
    """Weights inside Norse neurons: ``input_weights`` are feed-forward, the others are skipped."""
    if not (_ours(module) and _is_neuron(module)):
        return None
    broken_input = type(module) is _classes().coba
    named: dict[str, torch.Tensor] = dict(module.named_parameters(recurse=False))
    for name in ("input_weights", "recurrent_weights"):  # plain tensors passed to the constructor count too
        value = getattr(module, name, None)
        if isinstance(value, torch.Tensor) and name not in named:
            named[name] = value
    owned = []
    for name in named:
        if name == "input_weights" and broken_input:
            owned.append(OwnedWeight(name, "internal", "norse 1.1's coba_lif_step ignores CobaLIFCell's input"))
        elif name == "input_weights":
            owned.append(OwnedWeight(name, "feedforward"))
        elif name == "recurrent_weights":
            owned.append(OwnedWeight(name, "recurrent", "recurrent weights are not covered by the one-step rule"))
        elif name == "g_coupling":
            owned.append(OwnedWeight(name, "internal", "conductances between the neuron's compartments"))
        else:
            owned.append(OwnedWeight(name, "internal", f"internal parameter of {type(module).__name__}"))
    return owned


@hookimpl
def snninit_reset_state(model: nn.Module) -> None:
    """Nothing to reset: Norse modules are stateless.

    A Norse neuron takes its state as an argument and returns the new one (``z, s = cell(x, s)``); with
    ``s=None`` it starts from a fresh state. Nothing is kept inside the module between calls, so a model
    is in the same state before and after discovery's forward pass.
    """
    return None


# ----------------------------------------------------------------------------------------------------
# Activity monitor: spikes and the membrane compared with the threshold, per step
#
# A Norse neuron returns its state after the reset (``state.v`` is ``v_reset`` where it spiked). As its
# modules are pure functions of (input, state), the membrane the threshold saw is recomputed: the same
# step again, from the same state, with every threshold field (``v_th``, ``v_thresh``, nested ones such as
# ``p.lif.v_th``) raised out of reach, so that nothing spikes or resets and the new ``v`` is the charged
# membrane. Cells (``LIFCell``, ``LIFRecurrentCell``, ...) are re-run once per call; sequence modules
# (``LIF``, ``LSNN``, ... on ``[T, ...]``) step through their ``activation`` from the state given to the call
# (or their fresh state), one free step and one real step per time step. For ``LSNN`` the membrane is
# compared with the adaptive threshold ``b`` of its state, not with ``p.v_th``. A class whose parameters
# hold no threshold field gives its spikes without a membrane.

_THRESHOLD_FIELDS = ("v_th", "v_thresh")
_UNREACHABLE = 1e30  # finite, so that 0 * theta stays 0


def _unreachable(p: Any) -> Any:
    """``p`` with every threshold field (also in nested NamedTuples) set out of reach; None if it has none."""
    names = getattr(p, "_fields", None)
    replace = getattr(p, "_replace", None)
    if names is None or not callable(replace):
        return None
    changes: dict[str, Any] = {}
    for name in names:
        value = getattr(p, name)
        if name in _THRESHOLD_FIELDS:
            changes[name] = torch.full_like(value, _UNREACHABLE) if isinstance(value, torch.Tensor) else _UNREACHABLE
        else:
            nested = _unreachable(value)
            if nested is not None:
                changes[name] = nested
    return replace(**changes) if changes else None


def _state_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs["state"] if "state" in kwargs else (args[1] if len(args) > 1 else None)


def _free_cell_membrane(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    free = _unreachable(module.p)
    if free is None:
        return None
    original = module.p
    module.p = free
    try:
        out = module.forward(*args, **kwargs)  # forward, not __call__: the monitor's hooks do not see it
    finally:
        module.p = original
    state = out[1] if isinstance(out, tuple) and len(out) == 2 else None
    return _membrane_of(state)


def _free_sequence_membranes(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor] | None:
    free = _unreachable(module.p)
    x = args[0] if args else kwargs.get("input_tensor")
    if free is None or not isinstance(x, torch.Tensor) or x.is_sparse:
        return None
    state = _state_argument(args, kwargs)
    state = state if state is not None else module.state_fallback(x)
    weights = (module.input_weights, module.recurrent_weights) if _recurrent_sequence(module) else ()
    membranes = []
    for x_t in x:
        _, charged = module.activation(x_t, state, *weights, free, module.dt)
        membrane = _membrane_of(charged)
        if membrane is None:
            return None
        membranes.append(membrane)
        _, state = module.activation(x_t, state, *weights, module.p, module.dt)
    return membranes


def _recurrent_sequence(module: nn.Module) -> bool:
    return isinstance(module, _norse("module.snn").SNNRecurrent)


@hookimpl
def snninit_step_activity(
    module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
) -> list[tuple[torch.Tensor, torch.Tensor | None]] | None:
    """The spikes of a Norse neuron's call, per step, and the membrane compared with the threshold."""
    if not (_ours(module) and _is_neuron(module)):
        return None
    spikes = output[0] if isinstance(output, tuple) else output
    if not isinstance(spikes, torch.Tensor):
        return None
    if isinstance(module, _classes().sequences):
        steps = list(spikes.unbind(0))
        membranes = _free_sequence_membranes(module, args, kwargs)
        if membranes is None or len(membranes) != len(steps):
            return [(step, None) for step in steps]
        return list(zip(steps, membranes, strict=True))
    membrane = _free_cell_membrane(module, args, kwargs)
    return [(spikes, membrane if membrane is not None and membrane.shape == spikes.shape else None)]
