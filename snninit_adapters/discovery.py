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

Tensors are keyed by ``id``; every tracked tensor is kept alive for the whole pass so ids are not reused.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle

from snninit_adapters.errors import SNNInitError
from snninit_adapters.model import INPUT, Atom, atoms, call, forward_pass, tensors

__all__ = ["INPUT", "Graph", "Link", "discover", "discover_sequential"]

_Provenance = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Link:
    """A neuron, weight layer or ``<input>`` reached from a weight layer, and what lies on the way.

    Attributes:
        name: The atom reached (``"<input>"`` for the model's input).
        path: Modules (``"mod:BatchNorm2d"``) and functional ops (``"max_pool2d"``) passed on the way, in order.
    """

    name: str
    path: tuple[str, ...]


@dataclass
class Graph:
    """The data flow between atoms seen in one forward pass (or read from module order).

    Attributes:
        atoms: Every atom by name, in model order.
        edges: ``(source, target, ops)`` triples; ``ops`` are the functional ops between them.
        input_moments: For atoms that received tensors coming only from the model input: the sum of
            squares and the element count of those tensors (to estimate :math:`E[x^2]`).
        method: ``"forward pass"`` or ``"module order"``.
    """

    atoms: dict[str, Atom]
    edges: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    input_moments: dict[str, tuple[float, int]] = field(default_factory=dict)
    method: str = "forward pass"

    _adjacency: tuple[int, dict[tuple[str, bool], list[tuple[str, tuple[str, ...]]]]] = field(
        default=(-1, {}), init=False, repr=False, compare=False
    )

    def _neighbours(self, name: str, forward: bool) -> list[tuple[str, tuple[str, ...]]]:
        """Successors (``forward``) or predecessors of an atom, sorted; indexed once per set of edges."""
        size, index = self._adjacency
        if size != len(self.edges):  # edges only grow while tracing: rebuild when they did
            index = defaultdict(list)
            for source, target, ops in self.edges:
                index[(source, True)].append((target, ops))
                index[(target, False)].append((source, ops))
            for neighbours in index.values():
                neighbours.sort()
            self._adjacency = (len(self.edges), index)
        return index.get((name, forward), [])

    def walk(self, start: str, *, forward: bool) -> list[Link]:
        """Neurons, weight layers or the input reached from ``start``, through any other atoms.

        Args:
            start: The atom to start from.
            forward: True to follow the data flow (downstream), False to go against it (upstream).

        Returns:
            The atoms reached, each with its path; ``start`` itself when the flow loops back to it.
        """
        found: dict[str, tuple[str, ...]] = {}
        stack: list[tuple[str, tuple[str, ...]]] = [(start, ())]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for neighbour, ops in self._neighbours(node, forward):
                step = ops if forward else tuple(reversed(ops))
                new_path = (*path, *step) if forward else (*step, *path)
                atom = self.atoms.get(neighbour)
                if neighbour in (INPUT, start) or (atom is not None and atom.role != "other"):
                    found.setdefault(neighbour, new_path)
                    continue
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                assert atom is not None
                marker = f"mod:{type(atom.module).__name__}"
                stack.append((neighbour, (*new_path, marker) if forward else (marker, *new_path)))
        return [Link(name, path) for name, path in found.items()]

    def input_second_moment(self, name: str) -> float | None:
        """:math:`E[x^2]` of the model-input tensors that reached atom ``name``, if any did."""
        total, count = self.input_moments.get(name, (0.0, 0))
        return total / count if count else None


def _op_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return name.strip("_") or name


class _Tracer(TorchFunctionMode):
    """Carries provenance through functional ops and records edges at atom boundaries."""

    def __init__(self, atoms: dict[str, Atom]) -> None:
        super().__init__()
        self.atoms = atoms
        self.depth = 0
        self.provenance: dict[int, _Provenance] = {}
        self.alive: list[torch.Tensor] = []
        self.graph = Graph(atoms=atoms)

    def tag(self, tensor: torch.Tensor, provenance: _Provenance) -> None:
        self.provenance[id(tensor)] = provenance
        self.alive.append(tensor)

    def merged(self, obj: Any) -> _Provenance:
        merged: dict[str, frozenset[str]] = {}
        for tensor in tensors(obj):
            for source, ops in self.provenance.get(id(tensor), {}).items():
                merged[source] = merged.get(source, frozenset()) | ops
        return merged

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

    def pre_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if self.depth == 0:
                for tensor in tensors((args, kwargs), states=False):
                    provenance = self.provenance.get(id(tensor), {})
                    for source, ops in provenance.items():
                        self.graph.edges.add((source, name, tuple(sorted(ops))))
                    if set(provenance) == {INPUT} and tensor.is_floating_point():
                        total, count = self.graph.input_moments.get(name, (0.0, 0))
                        squares = float(tensor.detach().double().square().sum())
                        self.graph.input_moments[name] = (total + squares, count + tensor.numel())
            self.depth += 1

        return hook

    def post_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
            self.depth -= 1
            if self.depth == 0:
                for tensor in tensors(output):
                    self.tag(tensor, {name: frozenset()})

        return hook


def discover(
    model: nn.Module,
    example_input: Any,
    manager: pluggy.PluginManager,
) -> Graph:
    """Trace one no-grad forward pass of ``example_input`` through a deep copy of ``model``.

    Args:
        model: The model (left untouched: a deep copy runs).
        example_input: A tensor, a tuple of positional arguments, or a dict of keyword arguments.
        manager: The plugin manager whose adapters classify modules and reset state.

    Returns:
        The data-flow graph.

    Raises:
        SNNInitError: If the model cannot run on ``example_input``; the message carries the model's
            error and a hint about the frameworks' time layouts.
    """
    replica = copy.deepcopy(model)
    replica.eval()
    tracer = _Tracer(atoms(replica, manager))
    handles: list[RemovableHandle] = []
    try:
        with forward_pass(example_input, handles):
            for name, atom in tracer.atoms.items():
                handles.append(atom.module.register_forward_pre_hook(tracer.pre_hook(name), with_kwargs=True))
                handles.append(atom.module.register_forward_hook(tracer.post_hook(name), with_kwargs=True))
            for tensor in tensors(example_input):
                tracer.tag(tensor, {INPUT: frozenset()})
            manager.hook.snninit_reset_state(model=replica)
            with torch.no_grad(), tracer:
                call(replica, example_input)
    finally:
        manager.hook.snninit_reset_state(model=replica)
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
