"""`python -m pipeline.data [mnist|fashion_mnist] [--cache-dir DIR]`: fetch and cache a dataset explicitly."""

import argparse
import sys
from pathlib import Path

from pipeline.data.dataset import load_dataset
from pipeline.data.errors import DataError
from pipeline.data.sources import DATASET_NAMES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXIT_DATA_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.data", description=__doc__)
    parser.add_argument("name", nargs="?", default="mnist", choices=DATASET_NAMES)
    parser.add_argument(
        "--cache-dir", type=Path, default=PROJECT_ROOT / "data", help="default: %(default)s"
    )
    args = parser.parse_args(argv)
    try:
        dataset = load_dataset(args.name, None, args.cache_dir.resolve(), allow_download=True)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    print(
        f"{args.name}  source: {dataset.source}  sha256: {dataset.digest}  cache: {dataset.cache_path}"
    )
    return 0


def cli() -> None:
    """The `mnist-data` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
