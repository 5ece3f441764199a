"""Benchmark of the offline enhancement step: model load, time per transcript, what it finds.

    .venv/bin/python bench/enhance.py [--repeat 3] [--hours 1] [--out FILE.json]

Transcripts: the pyannote sample's reference (sample.stm, 30 s, two speakers) and a long one
made by repeating it for `--hours` (its turns shifted in time). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = {
    "diane": "PERSON",
    "sheila": "PERSON",
    "new jersey": "GPE",
    "texas": "GPE",
    "chicago": "GPE",
}


def _sample_stm() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample" / "sample.stm"


def _segments(hours: float) -> list[dict[str, Any]]:
    lines = [line.split(maxsplit=5) for line in _sample_stm().read_text().splitlines() if line]
    base = [(f"SPEAKER_{w[2]}", float(w[3]), float(w[4]), w[5]) for w in lines]
    segments: list[dict[str, Any]] = []
    offset, span = 0.0, 30.0
    while not segments or offset < hours * 3600:
        for speaker, start, end, text in base:
            segments.append(
                {
                    "id": len(segments),
                    "start": start + offset,
                    "end": end + offset,
                    "text": text,
                    "speaker": speaker,
                }
            )
        offset += span
        if hours == 0:
            break
    return segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "enhance.json")
    args = parser.parse_args()

    from app.config import get_settings
    from app.enhance.providers.base import EnhancementRequest
    from app.enhance.providers.offline import OfflineProvider
    from app.enhance.transcript import parse_transcript

    settings = get_settings()
    tick = time.perf_counter()
    provider = OfflineProvider(settings.spacy_model, settings.sentence_model, 5)
    load = time.perf_counter() - tick
    request = EnhancementRequest(summarize=True, extract_entities=True)
    report: dict[str, Any] = {
        "machine": platform.platform(),
        "model_load_seconds": round(load, 2),
        "models": provider.info,
        "transcripts": {},
    }
    for name, hours in (("sample-30s", 0.0), (f"long-{args.hours:g}h", args.hours)):
        transcript = parse_transcript({"segments": _segments(hours)}, job_id=name)
        times = []
        result = None
        for _ in range(args.repeat):
            tick = time.perf_counter()
            result = provider.enhance(transcript, request)
            times.append(time.perf_counter() - tick)
        assert result is not None
        found = {(e.text.lower(), e.type) for e in result.entities}
        report["transcripts"][name] = {
            "segments": len(transcript.segments),
            "turns": len(transcript.turns),
            "audio_seconds": round(transcript.segments[-1].end, 1),
            "enhance_seconds_median": round(statistics.median(times), 3),
            "key_points": len(result.key_points),
            "entities": len(result.entities),
            "names_found": f"{len(found & set(NAMES.items()))}/{len(NAMES)}",
            "summary": result.summary if hours == 0 else (result.summary or "")[:200],
        }
    print(f"offline provider: models loaded in {report['model_load_seconds']} s")
    print(f"{'transcript':<12} {'segments':>8} {'turns':>6} {'seconds':>8} {'names':>6}")
    for name, row in report["transcripts"].items():
        print(
            f"{name:<12} {row['segments']:>8} {row['turns']:>6} "
            f"{row['enhance_seconds_median']:>8} {row['names_found']:>6}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
