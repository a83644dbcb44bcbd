"""Whether torch, torchvision and torchaudio versions belong to one PyTorch release."""

from __future__ import annotations

from packaging.version import Version

__all__ = ["mismatches"]

# torchvision 0.N is released with torch 2.(N - 15): 0.26 with 2.11, 0.29 with 2.14.
_TORCHVISION_OFFSET = 15


def mismatches(torch: str, torchvision: str, torchaudio: str) -> list[str]:
    """What breaks the release pairing of the three versions ([] when they belong together)."""
    t, v, a = Version(torch), Version(torchvision), Version(torchaudio)
    problems = []
    if (v.major, v.minor) != (0, t.minor + _TORCHVISION_OFFSET) or t.major != 2:
        problems.append(f"torchvision {torchvision} is not the release of torch {torch}")
    if (a.major, a.minor) != (t.major, t.minor):
        problems.append(f"torchaudio {torchaudio} is not the release of torch {torch}")
    builds = {name: version.local for name, version in (("torch", t), ("torchvision", v), ("torchaudio", a))}
    if len(set(builds.values())) > 1:
        problems.append(f"the builds differ: {builds}")
    return problems
