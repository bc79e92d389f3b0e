"""The training data as the active run's dataset input: name, digest (of the cache file) and source."""

import mlflow

# MLflow's database keeps at most 36 characters of a dataset digest; the whole sha256 is a tag.
_DIGEST_LENGTH = 32


def log_dataset_input(splits) -> None:
    dataset = mlflow.data.from_numpy(
        splits.train_x,
        targets=splits.train_y,
        source=splits.cache_path,
        name=splits.name,
        digest=splits.digest[:_DIGEST_LENGTH],
    )
    mlflow.log_input(
        dataset, context="training", tags={"sha256": splits.digest, "origin": splits.source}
    )
