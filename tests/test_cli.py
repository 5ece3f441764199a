"""The `scribe` command: key management and one-off local transcription."""

from __future__ import annotations

import subprocess
import sys

import pysrt
import pytest
from click.testing import CliRunner

from app.cli import main
from tests.conftest import ROOT, SHARED_DATA


@pytest.mark.integration
def test_keys_create_list_revoke() -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--name", "cli-test", "--owner", "cli-owner"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.split(": ", 1)[1].strip()
    assert secret.startswith("sr_") and len(secret) > 40
    webhook_secret = created.stderr.splitlines()[0].split(": ", 1)[1].strip()
    assert webhook_secret.startswith("whsec_")
    rotated = runner.invoke(main, ["keys", "rotate-webhook-secret", secret[:11]])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.stdout.split(": ", 1)[1].strip()
    assert new_secret.startswith("whsec_") and new_secret != webhook_secret
    assert "keeps signing until" in rotated.stderr
    listed = runner.invoke(main, ["keys", "list"])
    assert secret[:11] in listed.stdout and secret not in listed.stdout
    revoked = runner.invoke(main, ["keys", "revoke", secret[:11]])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert runner.invoke(main, ["keys", "revoke", "sr_unknown"]).exit_code != 0


@pytest.mark.slow
def test_local_transcribe_writes_srt_with_progress() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "transcribe",
            str(SHARED_DATA / "jfk.flac"),
            "--format",
            "srt",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    subtitles = pysrt.from_string(out.stdout)
    text = " ".join(s.text for s in subtitles).lower().replace(",", "")
    assert "ask not what your country can do for you" in text
    assert "%" in out.stderr  # the progress bar


def test_local_transcribe_refuses_what_it_cannot_do(tmp_path: object) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["transcribe", str(SHARED_DATA / "jfk.flac"), "--format", "rttm"])
    assert result.exit_code == 2 and "--diarize" in result.output
