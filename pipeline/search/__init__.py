"""Optuna search, job side: reopening the sweeper's trial from its storage, pruning.

Nothing here imports Optuna at module level: a job without a trial never loads it.
"""
