"""Free a finished tox env's installed packages when SNNINIT_PRUNE_ENVS=1 (CI only; tox's commands_post).

The README's test command keeps every env it made under .tox/, 18 GB in all (two of them 5-6 GB each,
PyPI's CUDA builds of torch). CI runs it once on a clean clone, on a machine whose free disk varies, so
there each env's site-packages is deleted as soon as its commands are done: the disk then holds only the
envs running at the time. Anywhere else (the variable unset) this does nothing and the envs stay reusable.

Usage: python ci/prune_env.py ENV_SITE_PACKAGES_DIR
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def main() -> None:
    """Remove the site-packages folder given as the one argument, if SNNINIT_PRUNE_ENVS is 1."""
    if os.environ.get("SNNINIT_PRUNE_ENVS") != "1":
        return
    (target,) = (Path(argument) for argument in sys.argv[1:])
    if not target.is_dir() or target.name != "site-packages":
        sys.exit(f"prune_env: {target} is not a site-packages folder; nothing removed")
    before = shutil.disk_usage(target.parent).free
    shutil.rmtree(target)
    free = shutil.disk_usage(target.parent).free  # the difference, not a second walk of the files
    print(f"prune_env: removed {target} (about {(free - before) / 2**30:.1f} GiB); {free / 2**30:.1f} GiB free")


if __name__ == "__main__":
    main()
