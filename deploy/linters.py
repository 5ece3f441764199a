"""hadolint on both Dockerfiles (settings in .hadolint.yaml) and shellcheck on the shell scripts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from deploy import ROOT, Finding

DOCKERFILES = ("Dockerfile", "Dockerfile.worker")


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (make deploy-check installs it)")
    return found


def run_linter(check: str, command: list[str], root: Path = ROOT) -> list[Finding]:
    """Run a linter; every line it prints on failure is a finding."""
    result = subprocess.run(
        [_tool(command[0]), *command[1:]], cwd=root, capture_output=True, text=True, timeout=300
    )
    if result.returncode == 0:
        return []
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return [Finding(check, command[0], line) for line in lines] or [
        Finding(check, command[0], f"exited with {result.returncode}")
    ]


def check_hadolint(root: Path = ROOT) -> list[Finding]:
    """hadolint, any finding at any level fails (failure-threshold in .hadolint.yaml)."""
    return run_linter("hadolint", ["hadolint", "--no-color", *DOCKERFILES], root)


def shell_scripts(root: Path = ROOT) -> list[str]:
    """The repository's shell scripts."""
    paths = sorted([*root.glob("workers/*.sh"), *root.glob("scripts/*.sh")])
    return [str(p.relative_to(root)) for p in paths]


def check_shellcheck(root: Path = ROOT) -> list[Finding]:
    """shellcheck on every shell script (warnings and errors; style notes are not failures)."""
    return run_linter(
        "shellcheck", ["shellcheck", "--severity=warning", *shell_scripts(root)], root
    )
