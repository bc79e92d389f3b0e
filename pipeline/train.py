"""Entry point: `mnist-train [GROUP=OPTION] [key=value ...]` (or `python -m pipeline.train`).

TensorFlow is imported only inside the task function, so `--help`, `--cfg job` and shell
completion stay fast.
"""

from pipeline.processes.console import quiet_libraries

quiet_libraries()  # before MLflow or TensorFlow is imported: they read their log levels once

import sys  # noqa: E402

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

import pipeline.config  # noqa: E402,F401  (registers schemas and resolvers)
from pipeline import PROJECT_ROOT  # noqa: E402
from pipeline.config.choices import unknown_choice  # noqa: E402
from pipeline.config.compose import override_error  # noqa: E402
from pipeline.config.secrets import take_secrets  # noqa: E402
from pipeline.processes.interruption import exits_on_interrupt  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "conf"), config_name="config")
def main(cfg: DictConfig) -> float | tuple[float, ...]:
    from pipeline.processes.console import import_tensorflow

    import_tensorflow()
    from pipeline.processes.memory import freeze_startup_objects
    from pipeline.training.checkpointing import OutOfSpace
    from pipeline.training.run import train_and_evaluate

    freeze_startup_objects()

    try:
        return train_and_evaluate(cfg)
    except OutOfSpace as error:  # one line; a multirun stops too: no other job has room either
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def cli() -> None:
    sys.argv[1:] = take_secrets(sys.argv[1:])  # before Hydra records the overrides anywhere
    error = unknown_choice(sys.argv[1:]) or override_error(sys.argv[1:])
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    with exits_on_interrupt():
        main()


if __name__ == "__main__":
    cli()
