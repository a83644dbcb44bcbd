"""Find which neurons feed each weight layer and which neurons it drives.

The technique (forward hooks plus tensor provenance) works on models with Python time loops,
functional ops, containers and residual connections, where ``torch.fx`` and NIR export fail:

1. *Atoms.* Walking ``named_children`` from the root, a module is an atom (and its children are not
   visited) if an adapter calls it a neuron or a weight layer, or if it has no children.
2. *Hooks.* Each atom gets a forward pre-hook and a forward hook. Only calls at depth 0 (not nested
   inside another atom) are recorded.
3. *Provenance.* Every tensor carries the set of atoms it came from, and the ops applied since. The
   model's inputs come from ``<input>``; an atom's outputs come from the atom; a
   :class:`~torch.overrides.TorchFunctionMode` carries provenance through functional ops between atoms
   (``view``, ``max_pool2d``, ``add``, ``cat``, ``mul``...). An atom's pre-hook records an edge from
   each source of each of its input tensors.
4. *Pairing.* From each weight layer, walk the edges forwards and backwards through atoms that are
   neither neurons nor weight layers (pooling, BatchNorm, dropout...), collecting what lies on the path.

The provenance is held in a weak dictionary keyed by tensor identity: a tensor's entry goes when the
tensor is freed, so the trace keeps no activation alive and its peak memory is the forward pass's own.
The pass runs on a copy of the model that shares its parameters (no copy of the weights is made); a
forward pass that changes a parameter in place is named in a note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle
from torch.utils.weak import WeakIdKeyDictionary

from snninit_adapters.errors import SNNInitError
from snninit_adapters.graph import Graph, Link
from snninit_adapters.model import (
    INPUT,
    Atom,
    atoms,
    call,
    changed_in_place,
    forward_pass,
    parameter_versions,
    reset_state,
    strip_compiled,
    tensors,
)
from snninit_adapters.replica import copy_model

__all__ = ["INPUT", "Graph", "Link", "discover", "discover_sequential"]

_Provenance = dict[str, frozenset[str]]


def _op_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return name.strip("_") or name


class _Tracer(TorchFunctionMode):
    """Carries provenance through functional ops and records edges, calls and moments at atom boundaries."""

    def __init__(self, atoms: dict[str, Atom]) -> None:
        super().__init__()
        self.atoms = atoms
        self.depth = 0
        self.provenance: WeakIdKeyDictionary = WeakIdKeyDictionary()  # tensor -> _Provenance, while it lives
        self.graph = Graph(atoms=atoms)
        self.data_atoms: set[str] = set()  # "other" atoms every call of which took data-only inputs
        self.mixed_atoms: set[str] = set()  # "other" atoms some call of which did not
        self.data_calls: list[bool] = []  # per "other" call in flight: were all its inputs data-only?

    def tag(self, tensor: torch.Tensor, provenance: _Provenance) -> None:
        self.provenance[tensor] = provenance

    def sources(self, tensor: torch.Tensor) -> _Provenance:
        """The atoms (and ``<input>``) a tensor came from, each with the ops applied since; empty if untracked."""
        found: _Provenance = self.provenance.get(tensor, {})  # type: ignore[no-untyped-call]
        return found

    def merged(self, obj: Any) -> _Provenance:
        merged: dict[str, frozenset[str]] = {}
        for tensor in tensors(obj):
            for source, ops in self.sources(tensor).items():
                merged[source] = merged.get(source, frozenset()) | ops
        return merged

    def data_only(self, provenance: _Provenance) -> bool:
        """Whether a tensor depends on the model input alone (through ops and non-neuron, non-weight atoms)."""
        return bool(provenance) and all(source == INPUT or source in self.data_atoms for source in provenance)

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0:
            merged = self.merged((args, kwargs))
            if merged:
                op = _op_name(func)
                for tensor in tensors(out):
                    self.tag(tensor, {source: ops | {op} for source, ops in merged.items()})
        return out

    def record_inputs(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Record one call's edges, direct sources and input moments; True if all its inputs were data-only."""
        role = self.atoms[name].role
        sources: set[str] = set()
        data = True
        for tensor in tensors((args, kwargs), states=False):
            provenance = self.sources(tensor)
            for source, ops in provenance.items():
                self.graph.edges.add((source, name, tuple(sorted(ops))))
            sources |= set(provenance)
            if self.data_only(provenance):
                self.graph.data_inputs[name].add(tensor, exact=True)
            elif provenance:
                data = False
            if role != "other":
                self.graph.inputs[name].add(tensor)
        self.graph.calls[name].append(frozenset(sources))
        return data and bool(sources)

    def pre_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            self.depth += 1  # first: the recording's own tensor ops are not the model's, so not traced
            if self.depth == 1:
                data = self.record_inputs(name, args, kwargs)
                if self.atoms[name].role == "other":
                    self.data_calls.append(data)

        return hook

    def post_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
            try:
                if self.depth == 1:  # still raised while recording, as in the pre-hook
                    self.record_outputs(name, output)
            finally:
                self.depth -= 1

        return hook

    def record_outputs(self, name: str, output: Any) -> None:
        """Tag a top-level call's outputs with the atom and fold its output moments in."""
        role = self.atoms[name].role
        if role == "other":
            data = self.data_calls.pop()
            if data and name not in self.mixed_atoms:
                self.data_atoms.add(name)
            else:
                self.mixed_atoms.add(name)
                self.data_atoms.discard(name)
        for tensor in tensors(output):
            self.tag(tensor, {name: frozenset()})
        produced = tensors(output, states=False)
        if role == "neuron":  # its spikes: the first tensor (snnTorch's output=True adds the membrane)
            first = next(produced, None)
            produced = iter(() if first is None else (first,))
        if role != "other":
            for tensor in produced:
                self.graph.outputs[name].add(tensor)


def discover(
    model: nn.Module,
    example_input: Any,
    manager: pluggy.PluginManager,
) -> Graph:
    """Trace one no-grad forward pass of ``example_input`` through a copy of ``model`` that shares its parameters.

    Args:
        model: The model (left untouched: a copy runs; only a forward that changes its own parameters in
            place changes them, and the graph's notes say so).
        example_input: A tensor, a tuple of positional arguments, or a dict of keyword arguments.
        manager: The plugin manager whose adapters classify modules and reset state.

    Returns:
        The data-flow graph.

    Raises:
        SNNInitError: If the model cannot run on ``example_input``; the message carries the model's
            error and a hint about the frameworks' time layouts.
    """
    replica = copy_model(model, share_parameters=True)
    replica.eval()
    versions = parameter_versions(replica)
    notes = strip_compiled(replica)
    tracer = _Tracer(atoms(replica, manager))
    tracer.graph.notes.extend(notes)
    handles: list[RemovableHandle] = []
    try:
        with forward_pass(example_input, handles, replica):
            for name, atom in tracer.atoms.items():
                handles.append(atom.module.register_forward_pre_hook(tracer.pre_hook(name), with_kwargs=True))
                handles.append(atom.module.register_forward_hook(tracer.post_hook(name), with_kwargs=True))
            for tensor in tensors(example_input):
                tracer.tag(tensor, {INPUT: frozenset()})
            reset_state(manager, replica)
            with torch.no_grad(), tracer:
                call(replica, example_input)
    finally:
        reset_state(manager, replica)
    changed = changed_in_place(replica, versions)
    if changed:
        tracer.graph.notes.append(
            f"the model's forward pass changed {len(changed)} parameter(s) in place ({', '.join(changed[:5])}"
            f"{', ...' if len(changed) > 5 else ''}): the example pass did so on the model's own weights"
        )
    return tracer.graph


def discover_sequential(model: nn.Module, manager: pluggy.PluginManager) -> Graph:
    """Read the data flow of an ``nn.Sequential`` from its module order, without running it.

    Raises:
        SNNInitError: If ``model`` is not an ``nn.Sequential``.
    """
    if not isinstance(model, nn.Sequential):
        raise SNNInitError(
            f"without an example input only an nn.Sequential can be read from its module order, and this "
            f"model is a {type(model).__name__}; pass example_input=<a batch as the model takes it>"
        )
    graph = Graph(atoms=atoms(model, manager), method="module order")
    previous = INPUT
    for name in graph.atoms:
        graph.edges.add((previous, name, ()))
        previous = name
    return graph
