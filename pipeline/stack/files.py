"""Owner-only files and folders: the stack's secrets, keys, data and logs are nobody else's."""

import os
import secrets
from pathlib import Path

SECRET_BYTES = 24  # 32 URL-safe characters


def private_dir(path: Path) -> Path:
    """`path` and its missing parents created; `path` itself mode 0700 whatever umask says."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, content: bytes | str) -> None:
    """Replace `path` with `content`, readable by its owner only from the first byte on (a
    new file in the same folder, then an atomic rename: no reader sees half a secret)."""
    private_dir(path.parent)
    data = content.encode() if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)
