"""The web app in Debian's Chromium against the service's own processes (uvicorn API, Celery
worker and beat): sign in, upload, follow the job live, read, play, rename, download."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pysrt
import pytest

from tests.conftest import SHARED_DATA, TMP, ServiceStack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("chromium") is None or shutil.which("chromedriver") is None,
        reason="chromium or chromedriver missing (Debian packages chromium, chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def stack(database: str) -> Iterator[ServiceStack]:
    """API, worker and beat as separate processes, as `make run` starts them."""
    service = ServiceStack("webapp", {}, worker=True, beat=True)
    yield service
    service.stop()


def test_upload_read_rename_and_download_in_a_real_browser(stack: ServiceStack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from scripts.webapp_screenshots import (
        PHONE,
        chromium_driver,
        page_errors,
        set_viewport,
        sign_in,
        upload,
        visible,
        wait_for_transcript,
        wait_until,
    )

    key = stack.make_key()
    profile, downloads = TMP / "chromium-profile", TMP / "chromium-downloads"
    downloads.mkdir()
    chrome = chromium_driver(profile, downloads)
    try:
        # Signing in with a wrong key is refused on the page, without a console error.
        chrome.get(f"{stack.url}/")
        wait_until("the sign-in form", lambda: visible(chrome, "#api-key")).send_keys("sr_wrong")
        chrome.find_element(By.ID, "sign-in").click()
        form = chrome.find_element(By.TAG_NAME, "form")
        wait_until("the refusal", lambda: "unknown or revoked" in form.text)
        chrome.get_log("browser")  # the refused 401 is expected; later errors are not
        assert chrome.execute_script("return sessionStorage.length") == 0

        sign_in(chrome, stack.url, key)
        assert chrome.execute_script("return sessionStorage.getItem('scribe.apiKey')") == key
        assert chrome.execute_script("return localStorage.length") == 0

        job_id = upload(chrome, SHARED_DATA / "jfk.flac", diarize=True)
        # The list has no polling: only the job's event stream can turn its row to done.
        wait_until(
            "the job to finish in the list",
            lambda: chrome.find_elements(
                By.CSS_SELECTOR, f"tr[data-id='{job_id}'][data-status='succeeded']"
            ),
            timeout=600,
        )
        chrome.find_element(By.CSS_SELECTOR, f"tr[data-id='{job_id}'] td.name a").click()
        wait_for_transcript(chrome, timeout=120)
        text = chrome.find_element(By.CSS_SELECTOR, ".turns").text.lower()
        assert "ask not what your country can do for you" in text
        assert chrome.find_element(By.CSS_SELECTOR, ".turn .who").text == "SPEAKER_00"

        # The player: the recording loads, a click on a word seeks there and marks it.
        wait_until(
            "the recording's metadata",
            lambda: (
                chrome.execute_script("return document.getElementById('player').readyState") >= 1
            ),
        )
        duration = chrome.execute_script("return document.getElementById('player').duration")
        assert 10.5 < duration < 11.5
        word = chrome.find_elements(By.CSS_SELECTOR, ".turns .w")[5]
        start = float(word.get_attribute("data-start"))
        word.click()
        wait_until("the word to be marked", lambda: "current" in word.get_attribute("class"))
        position = chrome.execute_script("return document.getElementById('player').currentTime")
        assert abs(position - start) < 0.6

        # Rename SPEAKER_00 (keyboard only: type, then Enter submits) and see it everywhere.
        field = chrome.find_element(By.ID, "name-SPEAKER_00")
        field.clear()
        field.send_keys("Ada Lovelace", Keys.ENTER)
        wait_until(
            "the new name in the transcript",
            lambda: chrome.find_element(By.CSS_SELECTOR, ".turn .who").text == "Ada Lovelace",
        )
        renamed = chrome.find_element(By.ID, "name-SPEAKER_00")
        assert renamed.get_attribute("value") == "Ada Lovelace"

        chrome.find_element(By.ID, "download-srt").click()
        srt_file = wait_until(
            "the SRT download",
            lambda: next((p for p in downloads.glob("*.srt") if p.stat().st_size > 0), None),
        )
        time.sleep(0.5)  # the file is renamed into place once complete
        subs = pysrt.from_string(Path(srt_file).read_text())
        assert subs and all(s.text.startswith("[Ada Lovelace] ") for s in subs)
        assert "country" in " ".join(s.text for s in subs).lower()

        # Nothing spills sideways at a phone's width, on this view or the list.
        set_viewport(chrome, *PHONE)
        for view in (f"#/jobs/{job_id}", "#/"):
            chrome.execute_script(f"location.hash = '{view}'")
            wait_until("the view", lambda: visible(chrome, ".turns .w, #jobs-title"))
            time.sleep(0.5)
            width = chrome.execute_script("return document.documentElement.scrollWidth")
            assert width <= PHONE[0], (view, width)

        assert page_errors(chrome) == []

        chrome.find_element(By.ID, "sign-out").click()
        wait_until("the sign-in form again", lambda: visible(chrome, "#api-key"))
        assert chrome.execute_script("return sessionStorage.length") == 0
    finally:
        chrome.quit()
