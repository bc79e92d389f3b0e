"""`mnist-serve [--model RUN_ID|MODEL_URI] [--port 5002] [overrides...]` (`make serve`): a trained
model over HTTP, with MLflow's model server in this environment (`--env-manager local`).

Without `--model` it serves the model of the latest finished run of the configured experiment;
a run id serves that run's model, and any MLflow model URI (`models:/NAME@ALIAS`,
`models:/m-...`, `runs:/ID/model`) is served as it is. The store is the training config's
`tracking.uri`, so the same overrides that trained a model find it. The server runs as a child
whose error stream loses TensorFlow's C++ start-up lines: no TensorFlow here, the server
imports it once, to load the model.
"""

import argparse
import os
import shutil
import sys

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config
from pipeline.processes.console import quiet_libraries, run_quietly
from pipeline.tracking.credentials import use_stack_server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5002  # `make ui` has 5000, the team stack's MLflow server 5001
MODEL_URI_TAG = "model_uri"  # set by the tracker on every run that logged its model


class ServeError(RuntimeError):
    """No model to serve; the message is one line."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mnist-serve",
        description=(
            "Serve a trained model over HTTP (POST /invocations) with MLflow's model server."
        ),
    )
    parser.add_argument(
        "overrides", nargs="*", help="training config overrides, e.g. tracking.experiment_name=x"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a run id or a model URI such as models:/NAME@ALIAS (default: the latest trained)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="default: %(default)s")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: %(default)s")
    return parser.parse_intermixed_args(argv)


def model_uri(tracking_cfg, model: str | None) -> str:
    """The URI of the model to serve (see the module's docstring)."""
    if model and ":/" in model:
        return model
    store = tracking_cfg.uri.removeprefix("sqlite:///")
    if store != tracking_cfg.uri and not os.path.exists(store):  # opening would create an empty one
        raise ServeError(f"no MLflow store at {store}; train a model first (make train)")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_cfg.uri)
    if model:
        try:
            run = client.get_run(model)
        except MlflowException:
            raise ServeError(f"--model {model}: no such run in {tracking_cfg.uri}") from None
    else:
        experiment = client.get_experiment_by_name(tracking_cfg.experiment_name)
        runs = (
            []
            if experiment is None
            else client.search_runs(
                [experiment.experiment_id],
                f"tags.{MODEL_URI_TAG} != '' and attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
        )
        if not runs:
            raise ServeError(
                f"no finished run with a model in experiment {tracking_cfg.experiment_name!r} "
                f"of {tracking_cfg.uri}; train one first (make train)"
            )
        (run,) = runs
    if MODEL_URI_TAG not in run.data.tags:
        raise ServeError(f"run {run.info.run_id} logged no model (tracking.log_model=false)")
    return run.data.tags[MODEL_URI_TAG]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    quiet_libraries()  # MLflow's INFO lines here, and in the server, which inherits the levels
    try:
        tracking = compose_user_config(*args.overrides).tracking
        use_stack_server(tracking)
        uri = model_uri(tracking, args.model)
    except (ConfigError, ServeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"serving {uri} at http://{args.host}:{args.port}/invocations (store {tracking.uri})",
        flush=True,
    )
    bin_dir = os.path.dirname(sys.executable)
    mlflow = shutil.which("mlflow", path=bin_dir) or "mlflow"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking.uri,  # resolves models:/ and runs:/ URIs
        # MLflow starts `uvicorn` by name: this environment's, even when it is not activated.
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    }
    return run_quietly(
        [
            mlflow,
            "models",
            "serve",
            "--model-uri",
            uri,
            "--env-manager",
            "local",
            "--host",
            args.host,
            "--port",
            str(args.port),
        ],
        env,
    )


def cli() -> None:
    """The `mnist-serve` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
