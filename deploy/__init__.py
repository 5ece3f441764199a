"""Offline checks of the deployment files (`make deploy-check`, `python -m deploy`).

Each check reads the repository's own files (Dockerfiles, docker-compose*.yml, aws/, gcp/) and
returns findings; `python -m deploy` runs them all and fails on any finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Finding:
    """One problem: which check found it, where, and what is wrong."""

    check: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def rel(path: Path) -> str:
    """A path relative to the repository root, for messages."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
