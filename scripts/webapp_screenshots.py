#!/usr/bin/env python3
"""Screenshots of the web app (job list and transcript view) at desktop and phone widths.

    .venv/bin/python scripts/webapp_screenshots.py http://127.0.0.1:8000 shots/ \\
        --key-file <(printf '%s' "$KEY") [--upload ../shared/data/jfk.flac --diarize] [--job ID]

It drives Debian's Chromium (`chromium` and `chromium-driver`) with Selenium, offline: the
driver path is given, so Selenium never looks for or downloads a browser. The key is read from a
file (or SCRIBE_API_KEY), never from the command line. With --upload the recording goes through
the page's own file picker first; the transcript shown is --job, else the newest finished
transcription. Writes jobs-desktop.png, jobs-phone.png, transcript-desktop.png,
transcript-phone.png (and -full variants: the whole page) into the folder, and exits non-zero
if the page logged a console error.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

# Flags that work as root on a machine without a display, sandbox or outside network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]
DESKTOP = (1280, 800)
PHONE = (390, 844)


def find_binaries() -> tuple[str, str]:
    """Debian's Chromium and its ChromeDriver, or exit with what to install."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if not browser or not driver:
        raise SystemExit("needs Debian's chromium and chromium-driver (system-deps.sh --test)")
    return browser, driver


def chromium_driver(profile: Path, downloads: Path | None = None) -> WebDriver:
    """A headless Chromium with a fresh profile, browser console logging and, if given, a
    download folder."""
    browser, driver = find_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False,
            },
        )
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    if downloads is not None:
        chrome.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
    set_viewport(chrome, *DESKTOP)
    return chrome


def set_viewport(chrome: WebDriver, width: int, height: int) -> None:
    """Emulate a screen of this size (a phone width is emulated as a mobile device)."""
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
    )


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as exc:
            last_error = exc
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what} ({last_error})")


def visible(chrome: WebDriver, css: str) -> WebElement | None:
    """The first displayed element matching `css`, if any."""
    for element in chrome.find_elements(By.CSS_SELECTOR, css):
        if element.is_displayed():
            return element
    return None


def sign_in(chrome: WebDriver, base_url: str, key: str) -> None:
    """Open the page and sign in with the key; returns once the job list shows."""
    chrome.get(f"{base_url.rstrip('/')}/")
    field = wait_until("the sign-in form", lambda: visible(chrome, "#api-key"))
    field.send_keys(key)
    chrome.find_element(By.ID, "sign-in").click()
    wait_until("the job list", lambda: visible(chrome, "#jobs-title"))


def upload(chrome: WebDriver, path: Path, *, diarize: bool) -> str:
    """Upload a recording through the page's picker; returns the new job's id."""
    wait_until("the model list", lambda: chrome.find_elements(By.CSS_SELECTOR, "#opt-model option"))
    box = chrome.find_element(By.ID, "opt-diarize")
    if box.is_selected() != diarize:
        box.click()
    before = {row.get_attribute("data-id") for row in chrome.find_elements(By.CSS_SELECTOR, "tr")}
    chrome.find_element(By.ID, "file").send_keys(str(path.resolve()))

    def new_row() -> str | None:
        for row in chrome.find_elements(By.CSS_SELECTOR, "tbody tr[data-id]"):
            job_id = row.get_attribute("data-id")
            if job_id not in before:
                return job_id
        return None

    return str(wait_until("the uploaded job in the list", new_row, timeout=120))


def wait_for_transcript(chrome: WebDriver, timeout: float = 600) -> None:
    """Wait until the transcript view shows words (the job may still be running)."""
    wait_until("the transcript", lambda: visible(chrome, ".turns .w"), timeout=timeout)


def page_errors(chrome: WebDriver) -> list[dict[str, Any]]:
    """Console messages of level SEVERE since the last call (errors, failed requests)."""
    return [entry for entry in chrome.get_log("browser") if entry.get("level") == "SEVERE"]


def shoot(chrome: WebDriver, out: Path, *, full: bool = False) -> Path:
    """Save what the page shows (or the whole page) as a PNG."""
    time.sleep(0.6)  # let layout and fonts settle after a resize
    params: dict[str, Any] = {"format": "png"}
    if full:
        metrics = chrome.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        params["captureBeyondViewport"] = True
        params["clip"] = {"x": 0, "y": 0, "scale": 1, **{k: size[k] for k in ("width", "height")}}
    data = chrome.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
    out.write_bytes(base64.b64decode(data))
    print(f"saved {out}", file=sys.stderr)
    return out


def newest_finished(chrome: WebDriver) -> str:
    """The id of the newest succeeded transcription in the list."""

    def pick() -> str | None:
        for row in chrome.find_elements(By.CSS_SELECTOR, "tbody tr[data-status='succeeded']"):
            link = row.find_element(By.CSS_SELECTOR, "td.name a")
            if not link.text.startswith("Summary of"):
                return row.get_attribute("data-id")
        return None

    return str(wait_until("a finished transcription in the list", pick, timeout=600))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "base_url", help="where the API serves the page, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--key-file", type=Path, help="a file holding the API key")
    parser.add_argument("--upload", type=Path, help="upload this recording through the page first")
    parser.add_argument("--diarize", action="store_true", help="with --upload: label speakers")
    parser.add_argument("--job", help="the job whose transcript to show (default: newest done)")
    args = parser.parse_args()
    key = args.key_file.read_text().strip() if args.key_file else os.environ.get("SCRIBE_API_KEY")
    if not key:
        raise SystemExit("give the API key with --key-file or SCRIBE_API_KEY")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="webapp-shots-") as profile:
        chrome = chromium_driver(Path(profile))
        try:
            sign_in(chrome, args.base_url, key)
            uploaded = upload(chrome, args.upload, diarize=args.diarize) if args.upload else None
            wait_until("the list rows", lambda: visible(chrome, "tbody tr"))
            if uploaded:  # the list while the new job is live
                wait_until(
                    "the new job to run",
                    lambda: chrome.find_elements(
                        By.CSS_SELECTOR, f"tr[data-id='{uploaded}'][data-status='running'] progress"
                    ),
                    timeout=600,
                )
            shoot(chrome, args.out / "jobs-desktop.png")
            set_viewport(chrome, *PHONE)
            shoot(chrome, args.out / "jobs-phone.png")
            shoot(chrome, args.out / "jobs-phone-full.png", full=True)
            set_viewport(chrome, *DESKTOP)
            if uploaded:
                wait_until(
                    "the new job to finish",
                    lambda: chrome.find_elements(
                        By.CSS_SELECTOR, f"tr[data-id='{uploaded}'][data-status='succeeded']"
                    ),
                    timeout=600,
                )
            job_id = args.job or uploaded or newest_finished(chrome)

            chrome.get(f"{args.base_url.rstrip('/')}/#/jobs/{job_id}")
            wait_for_transcript(chrome)
            wait_until("the summary panel", lambda: visible(chrome, ".insights h2"))
            wait_until("the webhook panel", lambda: visible(chrome, ".webhooks h2"))
            # Play from a word for a moment, so the picture shows the spoken word marked.
            words = chrome.find_elements(By.CSS_SELECTOR, ".turns .w")
            words[min(12, len(words) - 1)].click()
            time.sleep(1.5)
            chrome.execute_script("document.getElementById('player')?.pause()")
            shoot(chrome, args.out / "transcript-desktop.png")
            shoot(chrome, args.out / "transcript-desktop-full.png", full=True)
            set_viewport(chrome, *PHONE)
            shoot(chrome, args.out / "transcript-phone.png")
            shoot(chrome, args.out / "transcript-phone-full.png", full=True)
            errors = page_errors(chrome)
            if errors:
                print(f"console errors: {errors}", file=sys.stderr)
                sys.exit(1)
        finally:
            chrome.quit()


if __name__ == "__main__":
    main()
