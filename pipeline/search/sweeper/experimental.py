"""Optuna features the sweeper uses on purpose although Optuna flags them experimental."""

import warnings
from contextlib import contextmanager

import optuna


@contextmanager
def experimental_features():
    """Silence Optuna's ExperimentalWarning inside the block (and only there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield
