"""The embedded default's broker: kombu's filesystem transport with whole message files.

kombu's own transport creates a message file and then writes into it, so a consumer polling the
folder can take the file while it is still empty and die on the JSON (celery/kombu#1551, open):
a `make run` worker stopped that way within minutes of idle beat traffic. Here a message is
written under a name consumers skip and renamed into place once complete, and a consumer takes
a file by renaming it into the processed folder beside the queue (one atomic rename, so two
consumers never take one message; kombu moves it to the system temp folder, which is a copy
when that is another file system). A file that still does not parse is dropped with a log line
instead of stopping the worker: the reconciler resends the job it belonged to.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".part"


def folder_options(folder: Path) -> dict[str, Any]:
    """Transport options for a broker kept in `folder` (its sub-folders are created)."""
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


class Channel(filesystem.Channel):
    """A filesystem channel whose consumers only ever see complete messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        os.makedirs(self.processed_folder, exist_ok=True)  # where _get takes files to

    # kombu names the argument `message` in AbstractChannel and `payload` here; either fails one.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put a message on `queue`: written under a hidden name, then renamed into place."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}{PARTIAL_SUFFIX}")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        """Take the oldest complete message of `queue`."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(taken, "rb") as handle:
                    payload = handle.read()
                if not self.store_processed:
                    os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
            try:
                return loads(bytes_to_str(payload))
            except ValueError:
                log.error("dropped unreadable broker message %s (%d bytes)", name, len(payload))
        raise Empty()


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel
