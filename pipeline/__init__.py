"""MNIST experiment-tracking pipeline: Hydra configs, Keras training, MLflow tracking, Optuna search."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
