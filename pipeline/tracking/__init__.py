"""MLflow tracking: one run per training job, a parent run per multirun.

Nothing here imports TensorFlow at module import time except `epoch_logging` and
`model_logging`, which the training job loads; the Hydra callback and the `uri` helper
stay fast.
"""
