"""A training cell's full state, written atomically at the end of an epoch, and read back only if intact.

The file (``cells/<key>.ckpt``) is a first line ``snninit-checkpoint 1``, a JSON line with the epoch,
the payload's size and its SHA-256, then the payload: ``torch.save`` of the state. It is written to a
temporary file of its own, flushed to disk and renamed over the last one, so a kill at any moment leaves
the previous checkpoint or the new one. Reading checks the size and the digest before unpickling, and
unpickles with ``weights_only=True``: a partial, altered or foreign file raises :class:`CheckpointError`
and is never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CheckpointError", "load_checkpoint", "read_header", "restore_rng_states", "rng_states", "save_checkpoint"]

MAGIC = b"snninit-checkpoint 1\n"
_HEADER_LIMIT = 4096  # the JSON line is far shorter; a longer one is not ours


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted: partial, altered, or not a checkpoint."""


def save_checkpoint(path: Path, epoch: int, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) as the checkpoint of ``epoch``, all or nothing."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getbuffer()
    header = {"epoch": epoch, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(MAGIC + json.dumps(header).encode() + b"\n")
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _split(data: bytes) -> tuple[dict[str, Any], memoryview]:
    if not data.startswith(MAGIC):
        raise CheckpointError("not a snninit checkpoint (its first line is wrong)")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _HEADER_LIMIT)
    try:
        header = json.loads(data[len(MAGIC) : end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or not {"epoch", "bytes", "sha256"} <= header.keys():
        raise CheckpointError("its header is unreadable")
    return header, memoryview(data)[end + 1 :]


def read_header(path: Path) -> dict[str, Any] | None:
    """The checkpoint's header (``epoch``, ``bytes``, ``sha256``) without reading the payload; None if unreadable."""
    try:
        with path.open("rb") as stream:
            start = stream.read(len(MAGIC) + _HEADER_LIMIT)
        return _split(start)[0]
    except (OSError, CheckpointError):
        return None


def load_checkpoint(path: Path) -> tuple[int, dict[str, Any]]:
    """The epoch and state of an intact checkpoint.

    Raises:
        CheckpointError: If the file is partial, altered or not a checkpoint (nothing is unpickled then).
    """
    header, payload = _split(path.read_bytes())
    if len(payload) != header["bytes"]:
        raise CheckpointError(f"it is partial ({len(payload)} of {header['bytes']} payload bytes)")
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise CheckpointError("its payload does not match its SHA-256 (altered or damaged)")
    try:
        state = torch.load(io.BytesIO(payload), weights_only=True)
    except Exception as error:  # an intact file written by something else
        raise CheckpointError(f"its payload does not load ({type(error).__name__}: {error})") from error
    return int(header["epoch"]), state


def rng_states() -> dict[str, Any]:
    """The global random states of torch (CPU, and every CUDA device in use), NumPy and Python's ``random``."""
    kind, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)  # noqa: NPY002 - the global state is saved
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), position, has_gauss, gauss],
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global random states saved by :func:`rng_states`."""
    torch.set_rng_state(states["torch"])
    kind, keys, position, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))  # noqa: NPY002
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])
