"""What every benchmark prints about the machine it ran on (a shared 2-core machine: figures need their context)."""

from __future__ import annotations

import importlib.metadata
import os
import platform


def load() -> str:
    """The 1, 5 and 15 minute load averages, where the platform has them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def machine(*packages: str) -> str:
    """CPUs (and how many this process may use), platform, Python and the versions of ``packages``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = "".join(f", {p} {importlib.metadata.version(p)}" for p in packages)
    return (
        f"{os.cpu_count()} CPUs ({cores} usable), {platform.platform()}, Python {platform.python_version()}{versions}"
    )
