"""Run the simulator standalone: ``python -m studio.simulator --host 127.0.0.1 --port 8787``.

Any Runway client works against it, e.g. the official SDK with ``base_url="http://127.0.0.1:8787"`` and any key.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from studio.simulator.app import create_app
from studio.simulator.config import SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m studio.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--pending", type=float, default=SimulatorConfig.pending_s, help="seconds PENDING")
    parser.add_argument("--running", type=float, default=SimulatorConfig.running_s, help="seconds RUNNING")
    parser.add_argument("--max-concurrent", type=int, default=None, help="tasks beyond this are THROTTLED")
    parser.add_argument(
        "--output-ttl", type=float, default=SimulatorConfig.output_ttl_s, help="seconds output links live"
    )
    parser.add_argument("--output-dir", type=Path, default=None, help="where clips are written")
    parser.add_argument("--allow-private-urls", action="store_true", help="fetch URL inputs from private hosts (tests)")
    parser.add_argument(
        "--admin", action="store_true", help="serve /_simulator/faults and /_simulator/stats (fault injection)"
    )
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        pending_s=args.pending,
        running_s=args.running,
        max_concurrent=args.max_concurrent,
        output_ttl_s=args.output_ttl,
        output_dir=args.output_dir,
        allow_private_urls=args.allow_private_urls,
        admin=args.admin,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning", timeout_keep_alive=30)


if __name__ == "__main__":
    main()
