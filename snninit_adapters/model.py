"""The model plumbing that discovery, :func:`~snninit_adapters.apply_snn_init` and the activity monitor share.

- :func:`unwrap` looks through ``torch.compile``, ``DataParallel`` and ``DistributedDataParallel``.
- :func:`atoms` splits a model into the modules treated as units: a neuron or a weight layer (as the
  adapters say) or a leaf; containers are looked into.
- :func:`tensors` finds every tensor in an argument structure (tuples, lists, dicts, NamedTuples, which
  are a Norse module's state and can be left out).
- :func:`call` calls a model on an example input (a tensor, a tuple of positional arguments or a dict
  of keyword arguments), and :func:`forward_pass` wraps such a run: it removes the hooks it was given
  whatever happens and turns the model's own error into one that names the input's shapes and the
  frameworks' time layouts.
- :func:`no_neuron_error` is the one error for a model in which no adapter found a neuron.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pluggy
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from snninit_adapters.errors import SNNInitError
from snninit_adapters.plugins import adapter_errors

__all__ = [
    "INPUT",
    "ROOT",
    "Atom",
    "Role",
    "arguments",
    "atoms",
    "call",
    "changed_in_place",
    "forward_pass",
    "input_error",
    "named_modules",
    "no_neuron_error",
    "parameter_versions",
    "reset_state",
    "strip_compiled",
    "tensors",
    "unwrap",
]

INPUT = "<input>"
"""The name of the model's input in the discovered data flow (the source of the example input's tensors)."""

ROOT = "<root>"
"""The name of the model itself when it is an atom (a model that is one neuron or one layer)."""

Role = Literal["neuron", "weight", "other"]


@dataclass(frozen=True)
class Atom:
    """A module discovery treats as a unit: a neuron, a weight layer, or another leaf."""

    name: str
    module: nn.Module
    role: Role


def unwrap(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """The model inside ``torch.compile``'s ``OptimizedModule`` and the data-parallel wrappers.

    Args:
        model: The model as the user holds it.

    Returns:
        The innermost model, and one note per wrapper looked through.
    """
    notes = []
    while True:
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):  # torch.compile's OptimizedModule
            notes.append(f"unwrapped torch.compile's {type(model).__name__}")
            model = inner
            continue
        if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
            notes.append(f"unwrapped {type(model).__name__}")
            model = model.module
            continue
        return model, notes


def parameter_versions(model: nn.Module) -> dict[str, int]:
    """Each parameter's version counter (torch bumps it at every in-place change), by name."""
    return {name: p._version for name, p in model.named_parameters()}


def changed_in_place(model: nn.Module, versions: dict[str, int]) -> list[str]:
    """The parameters of ``model`` changed in place since ``versions`` (:func:`parameter_versions`) was read."""
    return [name for name, p in model.named_parameters() if p._version != versions.get(name, p._version)]


def _compiled(module: nn.Module) -> nn.Module | None:
    """The module inside ``torch.compile``'s ``OptimizedModule``, or None for any other module."""
    inner = getattr(module, "_orig_mod", None)
    return inner if isinstance(inner, nn.Module) else None


def strip_compiled(model: nn.Module) -> list[str]:
    """Replace every ``torch.compile``'d submodule of ``model`` by the module it compiles, in place.

    Only for the library's private copies of a model: discovery and the monitor trace the modules
    themselves, which a compiled submodule would hide behind its compiled code.

    Args:
        model: The copy to change.

    Returns:
        One note per submodule unwrapped.
    """
    notes = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            inner = _compiled(child)
            if inner is not None:
                setattr(parent, child_name, inner)
                full = f"{parent_name}.{child_name}" if parent_name else child_name
                notes.append(f"traced {full} without its torch.compile wrapper (the compiled module is the same)")
    return notes


def named_modules(model: nn.Module) -> dict[str, nn.Module]:
    """``model``'s modules by the names its atoms have: ``torch.compile``'s ``_orig_mod`` levels left out."""
    found: dict[str, nn.Module] = {}
    for name, module in model.named_modules():
        if _compiled(module) is not None:
            continue
        parts = [part for part in name.split(".") if part != "_orig_mod"] if name else []
        found.setdefault(".".join(parts) or ROOT, module)
    found[ROOT] = model
    return found


def _classify(name: str, module: nn.Module, manager: pluggy.PluginManager) -> Role | None:
    with adapter_errors(manager, "snninit_is_neuron", name, module):
        if manager.hook.snninit_is_neuron(module=module):
            return "neuron"
    with adapter_errors(manager, "snninit_weight_layer", name, module):
        if manager.hook.snninit_weight_layer(module=module) is not None:
            return "weight"
    if next(module.children(), None) is None:
        return "other"
    return None


def atoms(model: nn.Module, manager: pluggy.PluginManager) -> dict[str, Atom]:
    """Every atom of ``model`` by its name (as in ``named_modules``), in model order.

    Walking ``named_children`` from the root, a module is an atom, and its children are not visited,
    if an adapter calls it a neuron or a weight layer, or if it has no children. A module reached
    twice (shared) is listed once, under its first name.

    Args:
        model: The model.
        manager: The plugin manager whose adapters classify modules.

    Returns:
        The atoms.
    """
    found: dict[str, Atom] = {}
    seen: set[int] = set()
    pending: list[tuple[str, nn.Module]] = [("", model)]  # a stack, not a recursive closure: no reference cycle
    while pending:
        name, module = pending.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        role = _classify(name or ROOT, module, manager)
        if role is not None:
            found[name or ROOT] = Atom(name or ROOT, module, role)
            continue
        children = []
        for child_name, child in module.named_children():
            inner = _compiled(child)  # a torch.compile'd submodule: its atoms are the compiled module's
            children.append((f"{name}.{child_name}" if name else child_name, inner if inner is not None else child))
        pending.extend(reversed(children))
    return found


def tensors(obj: Any, *, states: bool = True) -> Iterator[torch.Tensor]:
    """Every tensor in ``obj``, searching tuples, lists and dict values.

    Args:
        obj: A tensor or a structure of them.
        states: Also search NamedTuples; False skips them as a module's state (Norse), not its data.

    Yields:
        The tensors, in order.
    """
    if isinstance(obj, tuple) and hasattr(obj, "_fields") and not states:
        return
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors(value, states=states)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from tensors(value, states=states)


def arguments(example_input: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments an example input stands for (a dict: keywords; a tuple: positions)."""
    if isinstance(example_input, dict):
        return (), dict(example_input)
    if isinstance(example_input, tuple):
        return example_input, {}
    return (example_input,), {}


def call(model: nn.Module, example_input: Any) -> Any:
    """Call ``model`` on an example input (see :func:`arguments`) and return its output."""
    args, kwargs = arguments(example_input)
    return model(*args, **kwargs)


_LAYOUTS = {
    "spikingjelly": "SpikingJelly multi-step models take [T, B, ...], single-step ones [B, ...]",
    "norse": "Norse Lift and LIF modules take [T, B, ...], cells [B, ...]",
    "snntorch": "snnTorch neurons take one step [B, ...] per call (the time loop is the model's)",
}


def _frameworks(model: nn.Module | None) -> list[str]:
    """The SNN frameworks whose modules the model holds, in the order of :data:`_LAYOUTS`."""
    if model is None:
        return []
    found = {type(module).__module__.split(".")[0] for module in model.modules()}
    return [name for name in _LAYOUTS if name in found]


def _labelled_batch(example_input: Any) -> bool:
    """Whether the example input looks like a DataLoader's (inputs, labels) pair: integer labels, one per sample."""
    if not (isinstance(example_input, tuple | list) and len(example_input) == 2):
        return False
    data, labels = example_input
    return (
        isinstance(data, torch.Tensor)
        and isinstance(labels, torch.Tensor)
        and data.is_floating_point()
        and not labels.is_floating_point()
        and labels.dim() == 1
        and data.dim() >= 2
        and labels.shape[0] in data.shape[:2]
    )


def input_error(example_input: Any, error: Exception, model: nn.Module | None = None) -> SNNInitError:
    """The error for a model that cannot run on the example input: its own error, and what to pass instead.

    Args:
        example_input: The input the model failed on.
        error: The model's error.
        model: The model, to name the time layouts of the frameworks it uses (None: all of them).
    """
    shapes = [tuple(t.shape) for t in tensors(example_input)]
    message = f"the model could not run on the example input of shape(s) {shapes}: {type(error).__name__}: {error}. "
    if _labelled_batch(example_input):
        message += (
            "It looks like a DataLoader's (inputs, labels) batch: pass the inputs only "
            "(inputs, labels = batch; apply_snn_init(model, inputs)). "
        )
    layouts = [_LAYOUTS[name] for name in _frameworks(model)] or list(_LAYOUTS.values())
    message += "Pass an input the model accepts as it is called in training. Time layouts: " + "; ".join(layouts) + "."
    return SNNInitError(message)


@contextmanager
def forward_pass(example_input: Any, handles: list[RemovableHandle], model: nn.Module | None = None) -> Iterator[None]:
    """Run a block that calls the model on ``example_input`` with hooks installed.

    The hooks in ``handles`` are removed when the block ends, however it ends. The library's own errors
    pass through; any other exception raised by the model becomes :func:`input_error`'s message, with
    the original as its cause.

    Args:
        example_input: The input the block runs the model on (for the message).
        handles: The hooks to remove afterwards (the block may still append to the list).
        model: The model the block runs (its frameworks' time layouts go into the message).

    Raises:
        SNNInitError: If the model failed.
    """
    try:
        yield
    except SNNInitError:
        raise
    except Exception as error:
        raise input_error(example_input, error, model) from error
    finally:
        for handle in handles:
            handle.remove()


def reset_state(manager: pluggy.PluginManager, model: nn.Module) -> None:
    """Reset the state of every neuron of ``model`` through the adapters; a failing hook names its plugin."""
    with adapter_errors(manager, "snninit_reset_state", ROOT, model):
        manager.hook.snninit_reset_state(model=model)


def no_neuron_error(manager: pluggy.PluginManager, found: dict[str, Atom]) -> SNNInitError:
    """The error for a model in which no adapter recognised a spiking neuron: its modules and the adapters."""
    adapters = sorted(name for name, _ in manager.list_name_plugin())
    kinds = sorted({type(atom.module).__name__ for atom in found.values()})
    return SNNInitError(
        f"no spiking neuron found in the model (its modules: {', '.join(kinds) or 'none'}). Active adapters: "
        f"{', '.join(adapters)}. If the model uses a framework with no adapter here, install the matching extra "
        "(pip install 'snninit-adapters[snntorch|spikingjelly|norse]') or register an adapter plugin."
    )
