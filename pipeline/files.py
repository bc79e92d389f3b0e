"""Files replaced whole: a reader sees the old file or the whole new one, never half of one, and
a failed write (a full disk, a kill) leaves the old file and no temporary one. Stdlib only."""

import os
import uuid
from pathlib import Path


def replace_file(path: Path, content: bytes | str, mode: int = 0o666) -> None:
    """Replace `path` with `content`: a new file in the same folder, created with `mode` (less
    the umask) before its first byte, flushed to disk, then renamed over `path`. Each writer
    has a temporary file of its own, so writers in several processes cannot mix theirs."""
    path = Path(path)
    data = content.encode() if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # already gone after the rename
