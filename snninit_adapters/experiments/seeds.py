"""Seeds derived from a cell's parameters, so that every method and every backend of a cell sees the same input."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["cell_seed"]


def cell_seed(cell: Mapping[str, Any], *, exclude: tuple[str, ...] = ("methods", "backend")) -> int:
    """A 63-bit seed from the cell's parameters (methods excluded, so methods share inputs)."""
    key = json.dumps({k: v for k, v in cell.items() if k not in exclude}, sort_keys=True)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1
