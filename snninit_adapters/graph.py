"""The data flow that discovery traces: atoms, the edges between them, and what passed along them.

:class:`Graph` holds the edges between atoms seen in one forward pass (or read from a ``Sequential``'s
module order), the direct sources of every call of every atom, and running moments of the tensors that
entered and left the neurons and weight layers. :meth:`Graph.walk` goes from a weight layer to the
neurons, weight layers or model input next to it, through any other atoms (pooling, BatchNorm,
dropout, ...), and says what lies on the way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import torch

from snninit_adapters.model import INPUT, Atom

__all__ = ["INPUT", "Graph", "Link", "Moments"]


@dataclass(frozen=True)
class Link:
    """A neuron, weight layer or ``<input>`` reached from a weight layer, and what lies on the way.

    Attributes:
        name: The atom reached (``"<input>"`` for the model's input).
        path: Modules (``"mod:BatchNorm2d"``) and functional ops (``"max_pool2d"``) passed on the way, in order.
        via: The names of the atoms passed on the way, in order (not compared).
    """

    name: str
    path: tuple[str, ...]
    via: tuple[str, ...] = field(default=(), compare=False)


@dataclass
class Moments:
    """Count, sum and sum of squares of the values of the tensors seen, accumulated in float64."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, tensor: torch.Tensor, *, exact: bool = False) -> None:
        """Fold a tensor's values in (a floating-point one; others are ignored).

        Args:
            tensor: The values.
            exact: Sum and square in float64 (as the rule's :math:`E[x^2]` of the data needs). Otherwise the
                tensor is reduced in its own dtype (float32 at least), the squares by one dot product: a
                measurement for warnings, to a relative error near 1e-6, at a fifth of the cost of float64.
        """
        if not tensor.is_floating_point() or tensor.numel() == 0:
            return
        self.count += tensor.numel()
        if exact:
            values = tensor.detach().double()
            self.total += float(values.sum())
            self.squares += float(values.square().sum())
            return
        flat = tensor.detach().reshape(-1)
        flat = flat.float() if flat.element_size() < 4 else flat
        self.total += float(flat.sum())
        self.squares += float(torch.dot(flat, flat))

    @property
    def second(self) -> float:
        """:math:`E[x^2]` (NaN before any value)."""
        return self.squares / self.count if self.count else math.nan

    @property
    def variance(self) -> float:
        """:math:`E[x^2] - E[x]^2` (NaN before any value)."""
        if not self.count:
            return math.nan
        mean = self.total / self.count
        return max(self.second - mean * mean, 0.0)


@dataclass
class Graph:
    """The data flow between atoms seen in one forward pass (or read from module order).

    Attributes:
        atoms: Every atom by name, in model order.
        edges: ``(source, target, ops)`` triples; ``ops`` are the functional ops between them.
        calls: Per atom, the direct sources of each of its calls (the atoms, or ``<input>``, its inputs came from).
        data_inputs: Per atom, the moments of the inputs it received that depend on the model input alone
            (through functional ops and atoms that are neither neurons nor weight layers): the data's
            :math:`E[x^2]` as it reaches the atom, whatever the weights.
        inputs: Per neuron and weight layer, the moments of all its inputs (under the model's weights then).
        outputs: Per neuron and weight layer, the moments of its outputs (under the model's weights then).
        method: ``"forward pass"`` or ``"module order"``.
        notes: What the trace had to do that the report should say (compiled submodules traced without their wrapper).
    """

    atoms: dict[str, Atom]
    edges: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    calls: dict[str, list[frozenset[str]]] = field(default_factory=lambda: defaultdict(list))
    data_inputs: dict[str, Moments] = field(default_factory=lambda: defaultdict(Moments))
    inputs: dict[str, Moments] = field(default_factory=lambda: defaultdict(Moments))
    outputs: dict[str, Moments] = field(default_factory=lambda: defaultdict(Moments))
    method: str = "forward pass"
    notes: list[str] = field(default_factory=list)

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

    def pool_size(self, link: Link) -> int | None:
        """The window size of the (first) pooling module on a link's way, if it is a module with a kernel size."""
        for name in link.via:
            module = self.atoms[name].module
            kernel = getattr(module, "kernel_size", None)
            if kernel is not None and "ool" in type(module).__name__:
                return math.prod(kernel) if isinstance(kernel, tuple | list) else int(kernel) ** 2
        return None

    def walk(self, start: str, *, forward: bool, first: tuple[str, ...] | None = None) -> list[Link]:
        """Neurons, weight layers or the input reached from ``start``, through any other atoms.

        Args:
            start: The atom to start from.
            forward: True to follow the data flow (downstream), False to go against it (upstream).
            first: Only the neighbours of ``start`` to go through (one call's direct sources); None for all.

        Returns:
            The atoms reached, each with its path; ``start`` itself when the flow loops back to it.
        """
        found: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        stack: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(start, (), ())]
        seen: set[str] = set()
        while stack:
            node, path, via = stack.pop()
            for neighbour, ops in self._neighbours(node, forward):
                if node == start and first is not None and neighbour not in first:
                    continue
                step = ops if forward else tuple(reversed(ops))
                new_path = (*path, *step) if forward else (*step, *path)
                atom = self.atoms.get(neighbour)
                if neighbour in (INPUT, start) or (atom is not None and atom.role != "other"):
                    found.setdefault(neighbour, (new_path, via))
                    continue
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                assert atom is not None
                marker = f"mod:{type(atom.module).__name__}"
                if forward:
                    stack.append((neighbour, (*new_path, marker), (*via, neighbour)))
                else:
                    stack.append((neighbour, (marker, *new_path), (neighbour, *via)))
        return [Link(name, path, via) for name, (path, via) in found.items()]

    def uses(self, name: str) -> list[frozenset[str]]:
        """The distinct direct-source sets of an atom's calls, a set contained in another one merged into it.

        A layer called on several neurons' spikes (a shared layer) has one use per source; the calls of
        a time loop all have the same sources, and the first step of a recurrence (before its neuron has
        fed back) is merged into the later ones.
        """
        distinct = set(self.calls.get(name, ()))
        return sorted((s for s in distinct if not any(s < other for other in distinct)), key=sorted)

    def input_second_moment(self, name: str) -> float | None:
        """:math:`E[x^2]` of the inputs of atom ``name`` that depend on the model input alone, if any did."""
        moments = self.data_inputs.get(name)
        return moments.second if moments is not None and moments.count else None
