"""The embedded folder broker under load: kombu's own filesystem transport against ours.

    .venv/bin/python bench/folder_broker.py [--messages 3000] [--load 4] [--out FILE.json]

A producer process puts messages while a consumer polls without pause, with `--load` busy
processes competing for the CPU (as model warm-up does in `make run`). Counts the messages
received and those a consumer could not decode (each of which stops a Celery worker on kombu's
transport). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRANSPORTS = {
    "kombu filesystem": "kombu.transport.filesystem:Transport",
    "app.folder_transport": "app.folder_transport:Transport",
}

PRODUCER = """
import importlib, json, sys
from kombu import Connection
module, name = sys.argv[1].split(":")
transport = getattr(importlib.import_module(module), name)
with Connection(transport=transport, transport_options=json.loads(sys.argv[2])) as conn:
    channel = conn.default_channel
    for i in range(int(sys.argv[3])):
        channel._put("jobs", {"n": i})
"""


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def run(path: str, messages: int) -> dict[str, Any]:
    """Produce and consume `messages` through one transport; count what arrived."""
    import importlib

    from kombu import Connection

    from app.folder_transport import folder_options

    module, name = path.split(":")
    transport = getattr(importlib.import_module(module), name)
    folder = Path(tempfile.mkdtemp(prefix="folder-broker-"))
    options = folder_options(folder)
    started = time.perf_counter()
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, path, json.dumps(options), str(messages)], cwd=ROOT
    )
    received: set[int] = set()
    errors = 0
    with Connection(transport=transport, transport_options=options) as conn:
        channel = conn.default_channel
        while producer.poll() is None or any((folder / "queue").glob("*.msg")):
            try:
                received.add(channel._get("jobs")["n"])
            except Empty:
                pass
            except ValueError:
                errors += 1
    return {
        "received": len(received),
        "decode_errors": errors,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--load", type=int, default=4, help="busy processes beside the test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "folder.json")
    args = parser.parse_args()

    results: dict[str, Any] = {"messages": args.messages, "load": args.load, "transports": {}}
    for label, path in TRANSPORTS.items():
        hogs = [multiprocessing.Process(target=_spin, args=(3600,)) for _ in range(args.load)]
        for hog in hogs:
            hog.start()
        try:
            results["transports"][label] = run(path, args.messages)
        finally:
            for hog in hogs:
                hog.terminate()
    print(f"{args.messages} messages, {args.load} busy processes beside producer and consumer")
    print(f"{'transport':<22} {'received':>9} {'decode errors':>14} {'seconds':>8}")
    for label, row in results["transports"].items():
        print(f"{label:<22} {row['received']:>9} {row['decode_errors']:>14} {row['seconds']:>8}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
