"""Owner-only files and folders: the stack's secrets, keys, data and logs are nobody else's."""

import secrets
from pathlib import Path

from pipeline.files import replace_file

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
    replace_file(path, content, mode=0o600)


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)
