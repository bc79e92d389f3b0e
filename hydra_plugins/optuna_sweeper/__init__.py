"""Hydra's registration of the project's sweeper on current Optuna: `hydra/sweeper=optuna`.

The plugin (`optuna_sweeper.py`) and its config schema (`config.py`) are all Hydra's plugin
scan imports; the sweeper itself is `pipeline.search.sweeper`, loaded when a sweep starts, so
apps that never sweep do not import Optuna.
"""
