"""The API process, the light worker and beat never import the ML stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "faster_whisper", "pyannote", "ctranslate2", "torchaudio")


@pytest.mark.parametrize(
    "module",
    [
        "app.main",
        "app.celery_app",
        "app.jobs.tasks",
        "app.cli",
        "app.webhooks.tasks",
        "app.enhance.tasks",
    ],
)
def test_module_does_not_import_ml_stack(module: str) -> None:
    code = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"
