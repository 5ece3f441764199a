#!/usr/bin/env python3
"""Save a PNG screenshot of a Flower page, taken in headless Chromium (Debian's `chromium`).

    .venv/bin/python scripts/flower_screenshot.py http://127.0.0.1:5555/tasks flower.png \
        --auth-file <(printf 'user:password')   # or FLOWER_BASIC_AUTH=user:password

Chromium is driven over its DevTools protocol (with the `websockets` package uvicorn already
brings), so the basic-auth credentials travel in a request header, never on a command line, and
the script can wait until Flower's tables have rows before it takes the picture.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

# Flags that work on a machine without a display, sandbox or outside network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
# Flower fills its tables from its API after the page loads; wait for rows (or give up).
TABLE_HAS_ROWS = (
    "Array.from(document.querySelectorAll('table tbody tr'))"
    ".some(tr => !tr.querySelector('.dataTables_empty') && tr.innerText.trim().length > 0)"
)


class DevTools:
    """A minimal DevTools protocol client for one page session."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == event for e in self.events):
                return
            try:
                self.events.append(
                    json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                )
            except TimeoutError:
                break
        raise TimeoutError(f"no {event} within {timeout} s")


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and len(lines := marker.read_text().split()) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if proc.poll() is not None:
            raise RuntimeError("chromium exited before it opened its DevTools port")
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def screenshot(
    url: str, out: Path, *, auth: str | None, width: int, height: int, wait_rows: float
) -> Path:
    """Load `url` (with basic auth when given) and save what it shows as a PNG at `out`."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="flower-shot-") as profile:
        proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with connect(_devtools_url(Path(profile), proc), max_size=64 * 1024 * 1024) as ws:
                tools = DevTools(ws)
                target = tools.call("Target.createTarget", url="about:blank")["targetId"]
                tools.session = tools.call("Target.attachToTarget", targetId=target, flatten=True)[
                    "sessionId"
                ]
                tools.call("Network.enable")
                if auth:
                    token = base64.b64encode(auth.encode()).decode()
                    tools.call(
                        "Network.setExtraHTTPHeaders", headers={"Authorization": f"Basic {token}"}
                    )
                tools.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                tools.call("Page.enable")
                tools.call("Page.navigate", url=url)
                tools.wait_for("Page.loadEventFired", timeout=60)
                deadline = time.monotonic() + wait_rows
                while True:
                    found = tools.call(
                        "Runtime.evaluate", expression=TABLE_HAS_ROWS, returnByValue=True
                    )
                    if found.get("result", {}).get("value"):
                        break
                    if time.monotonic() > deadline:
                        print(f"no table rows after {wait_rows:g} s", file=sys.stderr)
                        break
                    time.sleep(0.3)
                time.sleep(0.5)  # let the last rows paint
                data = tools.call("Page.captureScreenshot", format="png")["data"]
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(data))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="the Flower page, e.g. http://127.0.0.1:5555/tasks")
    parser.add_argument("out", type=Path, help="where to write the PNG")
    parser.add_argument(
        "--auth-file", type=Path, help="a file holding user:password (else FLOWER_BASIC_AUTH)"
    )
    parser.add_argument(
        "--size", default="1400x900", help="viewport WIDTHxHEIGHT (default 1400x900)"
    )
    parser.add_argument(
        "--wait-rows", type=float, default=10, help="seconds to wait for table rows"
    )
    args = parser.parse_args()
    auth = (
        args.auth_file.read_text().strip()
        if args.auth_file
        else os.environ.get("FLOWER_BASIC_AUTH")
    )
    if auth:
        auth = auth.split(",")[0]  # Flower allows several users; one is enough to log in
    width, height = (int(v) for v in args.size.lower().split("x"))
    path = screenshot(
        args.url, args.out, auth=auth, width=width, height=height, wait_rows=args.wait_rows
    )
    print(f"saved {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
