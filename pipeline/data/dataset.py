"""One dataset, from the cache when there is one, else fetched from its sources and cached."""

from pathlib import Path

from pipeline.data.cache import CachedDataset, manifest_path, read_cache, serialize, sha256_hex, write_cache
from pipeline.data.sources import fetch

DIGEST_PREFIX_LENGTH = 12


def load_dataset(name: str, path: str | None, cache_dir: Path, allow_download: bool) -> CachedDataset:
    """The dataset `name`: from the user's `path` if given, else from `<cache_dir>/<name>.npz` or its sources.

    A user's file is read on every call, since it is the truth and may change; its canonical
    copy is cached under its content digest, so different files never share a cache entry.
    """
    if path is None:
        npz_path = cache_dir / f"{name}.npz"
        cached = read_cache(npz_path)
        if cached is not None:
            return cached
        fetched = fetch(name, None, allow_download)
        return write_cache(npz_path, fetched.arrays, fetched.source)
    fetched = fetch(name, path, allow_download)
    payload = serialize(fetched.arrays)
    digest = sha256_hex(payload)
    npz_path = cache_dir / f"{name}-{digest[:DIGEST_PREFIX_LENGTH]}.npz"
    if manifest_path(npz_path).is_file():  # content-addressed: a committed entry of this name holds these bytes
        return CachedDataset(fetched.arrays, fetched.source, digest, npz_path)
    return write_cache(npz_path, fetched.arrays, fetched.source, payload)
