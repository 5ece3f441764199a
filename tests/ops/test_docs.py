"""/docs and /redoc render in headless Chromium with no network: every asset comes from the API."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.conftest import ROOT
from tests.ops.conftest import ApiServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="chromium missing (Debian package chromium)"
    ),
]

SWAGGER_OPERATIONS = (
    "Array.from(document.querySelectorAll('.opblock-summary-path')).map(e => e.innerText)"
)
# Every host name but the API's address fails to resolve, as on a machine without a network.
NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def _chromium_driver() -> ModuleType:
    """scripts/flower_screenshot.py: the project's DevTools client and Chromium flags."""
    spec = importlib.util.spec_from_file_location(
        "flower_screenshot", ROOT / "scripts" / "flower_screenshot.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _poll(tools: Any, expression: str, ready: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = tools.call("Runtime.evaluate", expression=expression, returnByValue=True)
        value = value.get("result", {}).get("value")
        if ready(value):
            return value
        time.sleep(0.3)
    raise AssertionError(f"the page never got there: {str(value)[:500]}")


def test_docs_and_redoc_render_offline(api_server: ApiServer) -> None:
    driver = _chromium_driver()
    binary = shutil.which("chromium")
    assert binary is not None
    profile = tempfile.mkdtemp(prefix="docs-chromium-")
    proc = subprocess.Popen(
        [binary, *driver.CHROMIUM_FLAGS, NO_NETWORK, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(driver._devtools_url(Path(profile), proc), max_size=1 << 26) as ws:
            tools = driver.DevTools(ws)
            target = tools.call("Target.createTarget", url="about:blank")["targetId"]
            tools.session = tools.call("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            tools.call("Network.enable")
            tools.call("Page.enable")

            tools.call("Page.navigate", url=f"{api_server.url}/docs")
            paths = _poll(tools, SWAGGER_OPERATIONS, lambda v: bool(v) and len(v) > 10)
            for path in (
                "/api/v1/transcribe",
                "/api/v1/jobs/{job_id}",
                "/api/v1/enhanced-ai",
                "/v1/audio/transcriptions",
                "/v1/audio/translations",
            ):
                assert path in paths, paths

            tools.call("Page.navigate", url=f"{api_server.url}/redoc")
            text = _poll(
                tools,
                "document.body.innerText",
                lambda v: isinstance(v, str) and "/v1/audio/translations" in v,
            )
            assert "Transcribe" in text and "/api/v1/transcribe" in text

            requested = [
                event["params"]["request"]["url"]
                for event in tools.events
                if event.get("method") == "Network.requestWillBeSent"
            ]
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(profile, ignore_errors=True)
    fetched = [url for url in requested if url.startswith(("http:", "https:"))]
    assert any(url.endswith("/docs-static/swagger-ui-bundle.js") for url in fetched), fetched
    assert any(url.endswith("/docs-static/redoc.standalone.js") for url in fetched), fetched
    outside = [url for url in fetched if not url.startswith(api_server.url)]
    assert outside == [], f"the pages asked for something beyond the API: {outside}"
