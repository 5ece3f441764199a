"""Probing and decoding with ffmpeg: the format is judged by content, within limits."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.pipeline.errors import PipelineError

SAMPLE_RATE = 16000
PROBE_TIMEOUT = 60.0

# A recording is one self-contained file. Demuxers that open other files or the network
# (playlists, manifests, session descriptions) or capture devices would let a crafted upload
# read the server's files or reach its network, so ffmpeg may never use them here.
REFUSED_DEMUXERS = frozenset(
    "hls concat dash webm_dash_manifest imf sdp rtp rtsp sap image2 image2pipe lavfi alsa fbdev "
    "iec61883 jack kmsgrab libcdio libdc1394 openal oss pulse sndio video4linux2 v4l2 x11grab "
    "xcbgrab".split()
)
_REFUSED_BY_WHITELIST = re.compile(r"\[(\w+) @ [^\]]*\] Format not on whitelist")


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe found in a file."""

    format_name: str
    duration: float | None
    audio_streams: int
    video_streams: int
    channels: int
    sample_rate: int | None
    codec: str | None


def ffmpeg_available() -> bool:
    """True when ffmpeg and ffprobe are on PATH."""
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


@lru_cache(maxsize=1)
def demuxer_whitelist() -> str:
    """Every demuxer this ffmpeg has, but the refused ones (for -format_whitelist)."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-demuxers"], capture_output=True, text=True, timeout=30
    )
    names: set[str] = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("D", "DE"):
            names.update(parts[1].split(","))
    return ",".join(sorted(names - REFUSED_DEMUXERS))


def _input(path: Path) -> list[str]:
    """Open `path` as a plain local file with an allowed demuxer only."""
    return [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        demuxer_whitelist(),
        "-i",
        str(path),
    ]


def _refused_format(stderr: str) -> PipelineError | None:
    match = _REFUSED_BY_WHITELIST.search(stderr)
    if match is None and "not on whitelist" not in stderr:
        return None
    kind = match.group(1) if match else "a reference to other files"
    return PipelineError(
        "invalid_media",
        f"The file is a playlist or manifest ({kind}) that points to other files or streams; "
        "send the recording itself.",
    )


def _ffmpeg_detail(stderr: bytes, path: Path, fallback: str) -> str:
    """ffmpeg's complaint for the user, without the worker's temporary path."""
    text = stderr.decode(errors="replace").replace(f"{path}: ", "").replace(str(path), "input")
    return text.strip()[:200] or fallback


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None  # NaN check


def probe(path: Path) -> MediaInfo:
    """Read the container and streams; PipelineError when it is not media we can use."""
    try:
        proc = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                *_input(path),
            ],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PipelineError("invalid_media", "Probing the file took too long.") from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        refused = _refused_format(stderr)
        if refused is not None:
            raise refused
        raise PipelineError(
            "invalid_media",
            "The file is not a recognised audio or video format "
            f"({_ffmpeg_detail(proc.stderr, path, 'ffprobe failed')}).",
        )
    data = json.loads(proc.stdout or b"{}")
    streams = data.get("streams", [])
    fmt = data.get("format", {})
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    video = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    first = audio[0] if audio else {}
    # The longest of what the container and the audio streams claim: a file must not pass the
    # duration limit by under-reporting in one place.
    durations = [_float(fmt.get("duration"))] + [_float(a.get("duration")) for a in audio]
    duration = max((d for d in durations if d is not None), default=None)
    return MediaInfo(
        format_name=str(fmt.get("format_name", "unknown")),
        duration=duration,
        audio_streams=len(audio),
        video_streams=len(video),
        channels=int(first.get("channels") or 0),
        sample_rate=int(first["sample_rate"]) if first.get("sample_rate") else None,
        codec=first.get("codec_name"),
    )


def check_media(info: MediaInfo, *, max_duration: float) -> None:
    """Refuse what cannot or must not be transcribed, before any model runs."""
    if info.audio_streams == 0:
        what = "a video without an audio track" if info.video_streams else "no audio stream"
        raise PipelineError("no_audio_stream", f"The file holds {what}.")
    if info.format_name in REFUSED_DEMUXERS:
        raise PipelineError("invalid_media", f"Files of type {info.format_name} are not accepted.")
    if info.channels < 1 or not info.sample_rate:
        raise PipelineError(
            "invalid_media",
            "The audio stream declares no channels or no sample rate; the file is damaged.",
        )
    if info.duration is not None and info.duration > max_duration:
        raise PipelineError(
            "duration_exceeded",
            f"The recording lasts {info.duration:.0f} s; the limit is {max_duration:.0f} s.",
        )


def decode(
    path: Path, *, max_duration: float, timeout: float, channel: int | None = None
) -> np.ndarray:
    """Decode the first audio stream to 16 kHz mono float32 (or one channel of it)."""
    pan = ["-af", f"pan=mono|c0=c{channel}"] if channel is not None else ["-ac", "1"]
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *_input(path),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        *pan,
        "-ar",
        str(SAMPLE_RATE),
        "-t",
        str(max_duration + 1),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PipelineError(
            "decode_timeout", f"Decoding took longer than {timeout:.0f} s."
        ) from None
    if proc.returncode != 0:
        refused = _refused_format(proc.stderr.decode(errors="replace"))
        if refused is not None:
            raise refused
        detail = _ffmpeg_detail(proc.stderr, path, "ffmpeg failed")
        raise PipelineError("invalid_media", f"The audio could not be decoded ({detail}).")
    audio = np.frombuffer(proc.stdout, dtype=np.int16).astype(np.float32) / 32768.0
    seconds = audio.size / SAMPLE_RATE
    if seconds > max_duration:
        raise PipelineError(
            "duration_exceeded", f"The recording lasts over {max_duration:.0f} s, the limit."
        )
    if seconds < 0.1:
        raise PipelineError("empty_audio", "The recording holds no audio (under 0.1 s decoded).")
    return audio
