"""Training: models, optimizers, the input pipeline, loops, checkpoints and evaluation (imports TensorFlow)."""
