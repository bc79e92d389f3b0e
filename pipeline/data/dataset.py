"""One dataset, from the cache when there is one, else fetched from its sources and cached."""

from pathlib import Path

from pipeline.data.cache import (
    CachedDataset,
    manifest_path,
    read_cache,
    serialize,
    sha256_hex,
    write_cache,
)
from pipeline.data.sources import fetch

DIGEST_PREFIX_LENGTH = 12


# The datasets this process has loaded, with the signature of the files they came from: the
# check before a run loads the data once, and the run itself (in the same process) gets the same
# arrays back, unless a file changed in between.
_loaded: dict[tuple, tuple[tuple, CachedDataset]] = {}


def load_dataset(
    name: str, path: str | None, cache_dir: Path, allow_download: bool
) -> CachedDataset:
    """The dataset `name`: from the user's `path` if given, else from `<cache_dir>/<name>.npz` or its sources.

    A user's file is the truth and may change: it is read again whenever its size or times
    changed; its canonical copy is cached under its content digest, so different files never
    share a cache entry.
    """
    key = (name, path, str(cache_dir), allow_download)
    origin = Path(path).expanduser() if path is not None else cache_dir / f"{name}.npz"
    if key in _loaded and _loaded[key][0] == _file_signature(origin):
        return _loaded[key][1]
    dataset = _load(name, path, cache_dir, allow_download)
    _loaded[key] = (_file_signature(origin), dataset)
    return dataset


def _file_signature(path: Path) -> tuple:
    """(name, inode, size, mtime, ctime) of a file, or of each file in a folder; empty when absent."""
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return tuple(
        (str(f), s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
        for f in files
        if f.is_file()
        for s in [f.stat()]
    )


def _load(name: str, path: str | None, cache_dir: Path, allow_download: bool) -> CachedDataset:
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
    if manifest_path(
        npz_path
    ).is_file():  # content-addressed: a committed entry of this name holds these bytes
        return CachedDataset(fetched.arrays, fetched.source, digest, npz_path)
    return write_cache(npz_path, fetched.arrays, fetched.source, payload)
