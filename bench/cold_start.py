"""Cold start: from ``python app.py`` to the first page served, against ``import gradio`` alone.

Usage, from the repository root::

    python bench/cold_start.py [--repeat 5] [--timeout 180]

Each repeat, in this order (interleaved, so a change in the machine's load touches every row alike):

* ``python -c pass``: the interpreter alone;
* ``python -c "import gradio"``: Gradio's import alone, in a fresh interpreter;
* ``python -c "import app"``: everything app.py imports (Gradio, the studio, PyAV, Pillow, ...) without building
  or launching anything;
* ``python app.py`` in a subprocess with a fresh data folder and Gradio temp folder, on a free loopback port, on the
  embedded simulator: from the moment the process is started to the first ``GET /`` answered 200 with the whole
  page (its HTML carries the title "Runway Studio"), polled every 50 ms; then the process is stopped.

Prints the median, minimum and maximum wall time of each over ``--repeat`` runs, the median CPU time (user + system,
which other work on a shared machine disturbs far less than wall time), and the ratios. All traffic is loopback;
the script stops by itself. The file cache is warm after the first run (the minimum is the warm figure).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import ROOT
from harness.machine import children_cpu_s, load, machine, proc_cpu_s
from harness.servers import LOOPBACK, free_port, start, studio_env
from harness.stats import spread

TITLE = "Runway Studio"
POLL_S = 0.05


def time_command(code: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python -c code`` in a fresh interpreter, from start to exit."""
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"}
    start, start_cpu = time.perf_counter(), children_cpu_s()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu_s() - start_cpu


def time_first_page(timeout_s: float) -> tuple[float, float, int]:
    """(seconds to the first full page, the server's CPU seconds by then, page bytes) for ``python app.py``."""
    folder = Path(tempfile.mkdtemp(prefix="studio-bench-cold-"))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}/"
    env = studio_env(folder, port)
    with httpx.Client(timeout=httpx.Timeout(30.0, connect=1.0), trust_env=False) as http:
        start_s = time.perf_counter()
        proc = start("studio", [sys.executable, "app.py"], env, folder)
        try:
            while time.perf_counter() - start_s < timeout_s:
                if proc.popen.poll() is not None:
                    raise SystemExit(f"app.py exited with code {proc.popen.returncode}\n{proc.tail()}")
                try:
                    response = http.get(url)
                except httpx.TransportError:
                    time.sleep(POLL_S)
                    continue
                if response.status_code == 200 and TITLE in response.text:
                    return time.perf_counter() - start_s, proc_cpu_s(proc.pid), len(response.content)
                time.sleep(POLL_S)
            raise SystemExit(f"no page within {timeout_s:.0f} s\n{proc.tail()}")
        finally:
            proc.stop()
            shutil.rmtree(folder, ignore_errors=True)


def line(label: str, values: list[float], cpu: list[float] | None) -> str:
    median, low, high, n = spread(values)
    spent = f"{spread(cpu)[0]:>9.2f}" if cpu else f"{'':>9}"
    return f"{label:<52}{median:>9.2f}{low:>8.2f}{high:>8.2f}{spent}{n:>4}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up on a start after this many seconds")
    args = parser.parse_args(argv)
    print("cold start: python app.py (fresh data folder) -> first page served, against import gradio alone")
    print(f"machine: {machine('gradio', 'fastapi', 'uvicorn', 'av', 'pillow')}")
    print(f"load average before: {load()}   (a shared machine: other work slows every figure down)")
    print(
        f"command: python bench/cold_start.py --repeat {args.repeat} --timeout {args.timeout:g}"
        "   (from the repository root)"
    )
    rows: dict[str, list[float]] = {"bare": [], "gradio": [], "app": [], "page": []}
    cpu: dict[str, list[float]] = {"bare": [], "gradio": [], "app": [], "page": []}
    size = 0
    for _ in range(max(1, args.repeat)):
        for key, code in (("bare", "pass"), ("gradio", "import gradio"), ("app", "import app")):
            wall, spent = time_command(code)
            rows[key].append(wall)
            cpu[key].append(spent)
        page, spent, size = time_first_page(args.timeout)
        rows["page"].append(page)
        cpu["page"].append(spent)
    print(f"\n{'seconds':<52}{'median':>9}{'min':>8}{'max':>8}{'cpu':>9}{'n':>4}")
    print(line("python -c pass (the interpreter)", rows["bare"], cpu["bare"]))
    print(line('python -c "import gradio"', rows["gradio"], cpu["gradio"]))
    print(line('python -c "import app" (every import, nothing built)', rows["app"], cpu["app"]))
    print(line(f"python app.py -> first page served (200, {size / 1024:.0f} KiB)", rows["page"], cpu["page"]))
    med = {k: statistics.median(v) for k, v in rows.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"\nratio first page / import gradio: {med['page'] / med['gradio']:.1f}x wall, "
        f"{med_cpu['page'] / med_cpu['gradio']:.1f}x CPU (medians)"
    )
    print(
        f"of the first page's {med_cpu['page']:.1f} CPU-seconds: import gradio {med_cpu['gradio']:.1f}, "
        "the other imports "
        f"{med_cpu['app'] - med_cpu['gradio']:+.1f}, "
        f"building the page and launching {med_cpu['page'] - med_cpu['app']:+.1f} "
        "(differences of medians)"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
