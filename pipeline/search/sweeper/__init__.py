"""The Optuna sweeper's work: the study, its search space, the ask-launch-tell loop in slots,
the trial budget across workers, heartbeats, failures and results. Hydra reaches it through
`hydra_plugins/optuna_sweeper` (`hydra/sweeper=optuna`)."""
