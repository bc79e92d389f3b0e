"""The team stack of `make server`: PostgreSQL and an MLflow server over it (no TensorFlow)."""
