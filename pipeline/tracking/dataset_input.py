"""The training data as the active run's dataset input: name, digest (of the cache file) and source."""

import mlflow
from mlflow.exceptions import MlflowException

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
    tags = {"sha256": splits.digest, "origin": splits.source}
    try:
        mlflow.log_input(dataset, context="training", tags=tags)
    except MlflowException as error:
        # MLflow's store looks the dataset up, then inserts it: two jobs starting at once both
        # miss it and the second insert breaks the unique key (SQLite and PostgreSQL alike;
        # rolled back). The dataset exists now, so the same call links it to this run.
        if not _is_duplicate_dataset(error):
            raise
        mlflow.log_input(dataset, context="training", tags=tags)


def _is_duplicate_dataset(error: MlflowException) -> bool:
    message = str(error).lower()
    return "unique constraint" in message and "datasets" in message
