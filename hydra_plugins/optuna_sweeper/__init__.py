"""The project's Hydra sweeper on current Optuna: `hydra/sweeper=optuna`.

Modules named with a leading underscore hold the Optuna-side work; Hydra's plugin scan
skips them, so apps that never sweep do not import Optuna.
"""
