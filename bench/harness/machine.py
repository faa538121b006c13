"""The machine a figure was measured on, and how busy it and the benched processes were (a shared 2-core machine:
figures need their context). CPU and memory of other processes come from Linux's ``/proc``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
from dataclasses import dataclass
from pathlib import Path


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


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def proc_status(pid: int) -> dict[str, str]:
    """``/proc/<pid>/status`` as a dict (``VmRSS``, ``VmHWM``, ``Threads``, ...)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def proc_mem_mb(pid: int, key: str) -> float:
    """A memory figure of process ``pid`` in MB (``VmRSS``, the resident set; ``VmHWM``, its peak); 0 if absent."""
    value = proc_status(pid).get(key)
    return int(value.split()[0]) / 1024 if value else 0.0


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_s() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (every core), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds between ``start()`` and ``read()``: of the processes ``pids``, of this script and of the machine
    (every process, every core); and the load average when it started."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.start()

    def start(self) -> None:
        self.load_before = load()
        self._marks = self._now()

    def read(self) -> CpuUse:
        processes, own, busy = self._now()
        return CpuUse(
            processes=[now - then for now, then in zip(processes, self._marks[0])],
            own_s=own - self._marks[1],
            machine_s=busy - self._marks[2],
        )

    def _now(self) -> tuple[list[float], float, float]:
        return [proc_cpu_s(pid) for pid in self.pids], own_cpu_s(), machine_busy_s()


@dataclass
class CpuUse:
    processes: list[float]  # CPU seconds of each of the meter's pids, in order
    own_s: float  # of this script
    machine_s: float  # of every process on the machine
