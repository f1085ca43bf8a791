"""Writing files so that no reader, and no crash, ever sees half of one."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so no reader (nor a crash)
    ever sees a half-written file; an existing file keeps its permissions,
    owner and group (OSError when they cannot be kept: nothing is written)."""
    try:
        before = os.stat(path, follow_symlinks=False)
    except OSError:
        before = None  # a new file: the default permissions and owner
    import tempfile  # here, not at the top: a run that writes nothing never imports it

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if before is not None:
            _keep_owner_and_mode(tmp, before)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _keep_owner_and_mode(tmp: str, before: os.stat_result) -> None:
    made = os.stat(tmp)
    if (made.st_uid, made.st_gid) != (before.st_uid, before.st_gid):
        os.chown(tmp, before.st_uid, before.st_gid)  # before chmod: chown clears set-id bits
    os.chmod(tmp, before.st_mode & 0o7777)
