"""The environment every test runs in, set before anything imports the pipeline's config
(tests/conftest.py imports this first)."""

import os

# MLflow's own variables choose the store and the experiment (conf/tracking/mlflow.yaml, read
# once, when pipeline.config is first imported): the tests choose theirs, whatever the
# developer's shell has set. Children inherit this.
MLFLOW_CHOICES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)
for _variable in (
    *MLFLOW_CHOICES,
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "PGPASSWORD",
):
    os.environ.pop(_variable, None)


def child_environment(**variables: str) -> dict[str, str]:
    """This process's environment for a child, without the store MLflow's `set_tracking_uri`
    wrote into it (an in-process test's), plus `variables`."""
    return {**{k: v for k, v in os.environ.items() if k not in MLFLOW_CHOICES}, **variables}
