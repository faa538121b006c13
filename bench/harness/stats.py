"""Medians and spreads, percentiles, and timing a function: the figures every bench prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The value at quantile ``q`` (0 to 1) of ``values``, nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def spread(values: list[float]) -> tuple[float, float, float, int]:
    """(median, min, max, n) of ``values``, which must not be empty."""
    return statistics.median(values), min(values), max(values), len(values)


def timed(fn: Callable[[], Any], repeat: int, *, warm_up: bool = True) -> tuple[list[float], list[float], Any]:
    """Wall and CPU (all threads of this process) seconds of ``fn()`` over ``repeat`` runs, after one untimed run
    unless ``warm_up`` is false; and what the last run returned."""
    result = fn() if warm_up else None
    walls, cpus = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return walls, cpus, result
