"""Writing files so that no reader, and no crash, ever sees half of one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so no reader (nor a crash)
    ever sees a half-written file; an existing file keeps its permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except OSError:
            pass  # a new file: the default permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
