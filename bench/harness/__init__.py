"""What the benchmarks share, so that no bench imports another.

* ``servers``: the studio, the standalone simulator and ``studio.serve`` (replicas behind HAProxy) as subprocesses on
  free loopback ports: their environment, starting them, waiting until they answer, stopping them, and the warnings
  and errors their logs show;
* ``sticky``: a visitor behind a sticky load balancer, keeping its own cookie on a shared httpx client;
* ``gradio_queue``: Gradio's queue protocol as gradio_client speaks it (upload, queue/join, the SSE stream and its
  diffs) and one record of what a generation streamed, and when;
* ``image_to_video``: the one request the studio benches send (the bundled image, 960:960, 5 s, a fixed seed), on
  the page and as the studio's own form;
* ``machine``: the machine a figure was measured on (CPUs, platform, versions, load) and the CPU and memory of
  processes, from ``/proc``;
* ``stats``: medians and spreads, percentiles, timing a function;
* ``images``: a photo-like test picture.

The scripts run as ``python bench/<name>.py`` from the repository root, so ``bench/`` is on ``sys.path`` and this
package imports as ``harness``. Importing it puts the repository root first on ``sys.path``: the benches measure this
checkout's ``studio`` and ``app``, never an installed copy.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
