"""Entry point: `python -m pipeline.train [GROUP=OPTION] [key=value ...]`.

TensorFlow is imported only inside the task function, so `--help` and `--cfg job`
stay fast.
"""
import sys

import hydra
from omegaconf import DictConfig

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from pipeline.config.choices import unknown_choice


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | tuple[float, ...]:
    from pipeline.training.run import train_and_evaluate

    return train_and_evaluate(cfg)


def cli() -> None:
    error = unknown_choice(sys.argv[1:])
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    main()


if __name__ == "__main__":
    cli()
