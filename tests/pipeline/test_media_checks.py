"""Media checks before any model runs: a 10-hour silent WAV fails on its duration, playlists
and manifests that point elsewhere are refused without a connection or a file read, the format
is judged by content, and a stereo call is transcribed channel by channel."""

from __future__ import annotations

import http.server
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from app.config import get_settings
from app.pipeline import audio as media
from app.pipeline.errors import PipelineError
from tests.conftest import SHARED_DATA, TMP, CeleryProcess, upload, wait_for_job

STEREO_REFERENCE = {
    "CHANNEL_00": "He began a confused complaint against the wizard, who had vanished behind "
    "the curtain on the left.",
    "CHANNEL_01": "The horizon seems extremely distant.",
}


def silent_wav(path: Path, *, hours: float, rate: int = 16000) -> Path:
    """A real PCM WAV of digital silence, written as a sparse file: its header and then a hole.

    Silence in 16-bit PCM is all zero bytes, which is exactly what a hole reads as, so ten hours
    (1.15 GB) cost a 44-byte write and no disk blocks.
    """
    data_bytes = int(hours * 3600 * rate) * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with path.open("wb") as out:
        out.write(header)
        out.truncate(len(header) + data_bytes)
    return path


@pytest.fixture(scope="module")
def ten_hours() -> Path:
    return silent_wav(TMP / "ten-hours-silence.wav", hours=10)


def test_ten_hour_silent_wav_fails_on_duration_before_asr(ten_hours: Path) -> None:
    from app.pipeline.transcribe import transcribe_file

    assert ten_hours.stat().st_size == 1_152_000_044
    assert ten_hours.stat().st_blocks * 512 < 1024 * 1024, "the file should be sparse"
    stages: list[str] = []
    started = time.monotonic()
    with pytest.raises(PipelineError) as failed:
        transcribe_file(
            ten_hours,
            {"model": "tiny.en"},
            settings=get_settings(),
            progress=lambda stage, _pct: stages.append(stage),
            should_stop=lambda: None,
        )
    assert failed.value.code == "duration_exceeded"
    assert "36000 s" in failed.value.message and "14400 s" in failed.value.message
    assert stages == ["probing"], "nothing after the probe may run"
    assert time.monotonic() - started < 10


@pytest.fixture()
def media_server(ten_hours: Path) -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(ten_hours.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.integration
@pytest.mark.slow
def test_a_ten_hour_recording_is_a_failed_job_with_duration_exceeded(
    client: Any, api_key: str, worker: CeleryProcess, media_server: str, ten_hours: Path
) -> None:
    answer = client.post(
        "/api/v1/transcribe",
        headers={"X-API-Key": api_key},
        json={"url": f"{media_server}/{ten_hours.name}"},
    )
    assert answer.status_code == 202, answer.text
    done = wait_for_job(client, api_key, answer.json()["id"], timeout=240)
    assert done["status"] == "failed" and done["error"]["code"] == "duration_exceeded", done
    assert done["timings"] == {} and done["models"]["asr"] is None


def _listener() -> tuple[socket.socket, list[object]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    seen: list[object] = []

    def run() -> None:
        while sock.fileno() != -1:
            try:
                conn, peer = sock.accept()
            except OSError:
                continue
            seen.append(peer)
            conn.close()

    threading.Thread(target=run, daemon=True).start()
    return sock, seen


def test_playlists_and_manifests_are_refused_without_reaching_out(tmp_path: Path) -> None:
    sock, seen = _listener()
    port = sock.getsockname()[1]
    crafted = {
        "remote.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        f"http://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n",
        # Reads another local file: here a real recording, so a success would be visible.
        "local.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11,\n"
        f"{SHARED_DATA / 'jfk.flac'}\n#EXT-X-ENDLIST\n",
        "list.ffconcat": f"ffconcat version 1.0\nfile '{SHARED_DATA / 'jfk.flac'}'\n",
        "session.sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
        f"m=audio {port} RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
        "manifest.mpd": '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
        'type="static" mediaPresentationDuration="PT10S"><Period><AdaptationSet>'
        f'<Representation id="a" bandwidth="1"><BaseURL>http://127.0.0.1:{port}/a.mp4'
        "</BaseURL></Representation></AdaptationSet></Period></MPD>",
    }
    try:
        for name, text in crafted.items():
            path = tmp_path / "input"  # stored without a name, as the worker stores inputs
            path.write_text(text)
            with pytest.raises(PipelineError) as refused:
                info = media.probe(path)
                media.check_media(info, max_duration=3600)
                media.decode(path, max_duration=3600, timeout=30)
            assert refused.value.code == "invalid_media", name
            assert refused.value.message[0].isupper(), refused.value.message
        time.sleep(0.3)
        assert seen == [], "ffmpeg connected out"
    finally:
        sock.close()
    assert "playlist or manifest (hls)" in _message(crafted["local.m3u8"], tmp_path)


def _message(text: str, tmp_path: Path) -> str:
    path = tmp_path / "again"
    path.write_text(text)
    with pytest.raises(PipelineError) as refused:
        media.probe(path)
    return refused.value.message


def test_the_format_is_judged_by_content_not_by_name(tmp_path: Path) -> None:
    disguised = tmp_path / "meeting.mp4"
    disguised.write_bytes((SHARED_DATA / "stereo_diarization.wav").read_bytes())
    info = media.probe(disguised)
    assert info.format_name == "wav" and info.channels == 2 and info.duration == 5.0
    text = tmp_path / "song.mp3"
    text.write_text("not audio at all\n" * 100)
    with pytest.raises(PipelineError) as refused:
        media.probe(text)
    assert refused.value.code == "invalid_media"


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def _wer(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


@pytest.mark.integration
@pytest.mark.slow
def test_stereo_call_gives_one_speaker_per_channel_with_the_reference_text(
    client: Any, api_key: str, worker: CeleryProcess, tmp_path: Path
) -> None:
    # Named and typed as something else: the worker goes by the content.
    disguised = tmp_path / "call.mp3"
    disguised.write_bytes((SHARED_DATA / "stereo_diarization.wav").read_bytes())
    job = upload(client, api_key, disguised, split_channels=True)
    done = wait_for_job(client, api_key, job["id"])
    assert done["status"] == "succeeded", done
    result = client.get(
        f"/api/v1/jobs/{job['id']}/transcript", headers={"X-API-Key": api_key}
    ).json()
    assert [(s["id"], s["channel"]) for s in result["speakers"]] == [
        ("CHANNEL_00", 0),
        ("CHANNEL_01", 1),
    ]
    for speaker, reference in STEREO_REFERENCE.items():
        said = " ".join(s["text"] for s in result["segments"] if s["speaker"] == speaker)
        assert _wer(reference, said) <= 0.1, (speaker, said)
    assert all(w["speaker"] in STEREO_REFERENCE for w in result["words"])
    rttm = client.get(
        f"/api/v1/jobs/{job['id']}/transcript",
        headers={"X-API-Key": api_key},
        params={"format": "rttm"},
    ).text
    assert {line.split()[7] for line in rttm.splitlines()} == set(STEREO_REFERENCE)
    txt = client.get(
        f"/api/v1/jobs/{job['id']}/transcript",
        headers={"X-API-Key": api_key},
        params={"format": "txt"},
    ).text
    assert "CHANNEL_01: The horizon seems extremely distant." in txt


def test_too_many_channels_for_per_channel_transcription(tmp_path: Path) -> None:
    import subprocess

    from app.config import Settings
    from app.pipeline.transcribe import transcribe_file

    many = tmp_path / "input"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"]
        + ["anullsrc=r=16000:cl=5.1", "-t", "1", "-f", "wav", str(many)],
        check=True,
    )
    with pytest.raises(PipelineError) as refused:
        transcribe_file(
            many,
            {"split_channels": True},
            settings=Settings(max_channels=4),
            progress=lambda *_: None,
            should_stop=lambda: None,
        )
    assert refused.value.code == "too_many_channels" and "6 channels" in refused.value.message
