"""Writing output files so that a reader (or an interrupted run) never sees half a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """A temporary file beside `path`, then a rename. Raises OSError; the temporary file never stays behind.

    The pid keeps two runs writing the same path apart; the file gets the usual umask permissions.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, "utf-8")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
