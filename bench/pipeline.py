"""Benchmark of step one on the real test recordings: speed per stage, WER and DER.

    .venv/bin/python bench/pipeline.py [--repeat 3] [--device cpu|cuda] [--out FILE.json]

Prints a table and writes JSON. Models are loaded once before timing (as a warm worker has them).
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

DATA = ROOT.parent / "shared" / "data"
JFK_REFERENCE = (
    "and so my fellow americans ask not what your country can do for you "
    "ask what you can do for your country"
)


def _normalise(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def _sample_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


def _stm_text(path: Path) -> str:
    return " ".join(line.split(maxsplit=5)[5] for line in path.read_text().splitlines() if line)


def _der(result: dict[str, Any], rttm: Path) -> float:
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    hypothesis = Annotation(uri="sample")
    for turn in result["diarization"] or []:
        hypothesis[Segment(turn["start"], turn["end"])] = turn["speaker"]
    reference = load_rttm(rttm)["sample"]
    return float(DiarizationErrorRate()(reference, hypothesis))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    args = parser.parse_args()

    import jiwer

    from app.config import get_settings
    from app.pipeline.asr import get_asr_engine
    from app.pipeline.diarize import get_diarizer
    from app.pipeline.transcribe import transcribe_file

    settings = get_settings().model_copy(update={"device": args.device, "asr_model": args.model})
    tick = time.perf_counter()
    get_asr_engine(args.model, settings)
    asr_load = time.perf_counter() - tick
    tick = time.perf_counter()
    get_diarizer(settings.diarization_model, settings)
    diarization_load = time.perf_counter() - tick

    sample = _sample_dir()
    cases = [
        ("jfk", DATA / "jfk.flac", {"diarize": False}, JFK_REFERENCE, None),
        (
            "pyannote-sample",
            sample / "sample.wav",
            {"diarize": True},
            _stm_text(sample / "sample.stm"),
            sample / "sample.rttm",
        ),
    ]
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "device": args.device,
        },
        "model": args.model,
        "load_seconds": {"asr": round(asr_load, 2), "diarization": round(diarization_load, 2)},
        "cases": {},
    }
    for name, path, options, reference, rttm in cases:
        runs = []
        result: dict[str, Any] = {}
        for _ in range(args.repeat):
            tick = time.perf_counter()
            result = transcribe_file(
                path,
                {**options, "model": args.model},
                settings=settings,
                progress=lambda s, p: None,
                should_stop=lambda: None,
            )
            runs.append({"wall": time.perf_counter() - tick, **result["timings"]})
        wall = statistics.median(r["wall"] for r in runs)
        case: dict[str, Any] = {
            "audio_seconds": result["duration"],
            "wall_seconds_median": round(wall, 3),
            "real_time_factor": round(wall / result["duration"], 4),
            "times_real_time": round(result["duration"] / wall, 2),
            "stages_median": {
                stage: round(statistics.median(r.get(stage, 0.0) for r in runs), 3)
                for stage in ("decode", "asr", "diarization")
            },
            "wer": round(jiwer.wer(_normalise(reference), _normalise(result["text"])), 4),
        }
        if rttm is not None:
            case["der"] = round(_der(result, rttm), 4)
            case["speakers"] = len(result["speakers"])
        report["cases"][name] = case

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"model {args.model} on {args.device}; loads: {report['load_seconds']}")
    print(
        f"{'case':<18}{'audio s':>9}{'wall s':>9}{'x RT':>8}{'asr s':>8}{'diar s':>8}"
        f"{'WER':>8}{'DER':>8}"
    )
    for name, c in report["cases"].items():
        print(
            f"{name:<18}{c['audio_seconds']:>9.1f}{c['wall_seconds_median']:>9.2f}"
            f"{c['times_real_time']:>8.1f}{c['stages_median']['asr']:>8.2f}"
            f"{c['stages_median']['diarization']:>8.2f}{c['wer']:>8.3f}"
            f"{c.get('der', float('nan')):>8.3f}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
