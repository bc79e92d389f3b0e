"""The canonical on-disk copy of a dataset: a reproducible uint8 npz plus a JSON manifest holding its sha256.

The manifest is written last and acts as the commit record: an npz without one is the
leftover of an interrupted write and is rebuilt; an npz that disagrees with its manifest
is damage the user must see, never something to overwrite quietly.
"""

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.data.arrays import DatasetArrays
from pipeline.data.errors import DataError, one_line
from pipeline.data.npz import NPZ_KEYS, read_npz, write_npz
from pipeline.files import replace_file


@dataclass(frozen=True, eq=False)  # arrays have no useful ==
class CachedDataset:
    arrays: DatasetArrays
    source: str  # where the arrays came from
    digest: str  # sha256 hex of the cache file's bytes
    cache_path: Path


def serialize(arrays: DatasetArrays) -> bytes:
    """The cache file's exact bytes; identical arrays give identical bytes (and digest) everywhere."""
    buffer = io.BytesIO()
    write_npz(buffer, arrays)
    return buffer.getvalue()


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def manifest_path(npz_path: Path) -> Path:
    return npz_path.with_suffix(".json")


def read_cache(npz_path: Path) -> CachedDataset | None:
    """The verified cached dataset, or None when no committed cache exists at `npz_path`."""
    manifest_file = manifest_path(npz_path)
    if not (npz_path.is_file() and manifest_file.is_file()):
        return None
    remedy = f"delete {npz_path} and {manifest_file} to rebuild the cache"
    try:
        manifest = json.loads(manifest_file.read_text())
        expected_digest, source = manifest["sha256"], manifest["source"]
        payload = npz_path.read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"{manifest_file}: unreadable cache manifest ({one_line(error)}); {remedy}"
        ) from error
    digest = sha256_hex(payload)  # hash the very bytes that get loaded
    if digest != expected_digest:
        raise DataError(
            f"{npz_path}: sha256 {digest} differs from {expected_digest} in its manifest; {remedy}"
        )
    try:
        arrays = read_npz(io.BytesIO(payload), origin=str(npz_path))
    except DataError as error:
        raise DataError(f"{error}; {remedy}") from error
    return CachedDataset(arrays, source, digest, npz_path)


def write_cache(
    npz_path: Path, arrays: DatasetArrays, source: str, payload: bytes | None = None
) -> CachedDataset:
    """Write the npz, then its manifest, each atomically; `payload` is serialize(arrays) if already made."""
    payload = serialize(arrays) if payload is None else payload
    digest = sha256_hex(payload)
    manifest = {
        "file": npz_path.name,
        "sha256": digest,
        "source": source,
        "shapes": {key: list(getattr(arrays, key).shape) for key in NPZ_KEYS},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_atomically(npz_path, payload)
    _write_atomically(manifest_path(npz_path), (json.dumps(manifest, indent=2) + "\n").encode())
    return CachedDataset(arrays, source, digest, npz_path)


def _write_atomically(path: Path, payload: bytes) -> None:
    """Readers see the old file or the whole new one; a failure is a DataError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, payload)
    except OSError as error:
        raise DataError(f"{path}: cannot write the data cache ({one_line(error)})") from error
