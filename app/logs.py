"""Process logging set-up."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO") -> None:
    """Log to stdout once per process."""
    root = logging.getLogger()
    if getattr(root, "_scribe_configured", False):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    root._scribe_configured = True  # type: ignore[attr-defined]
