"""`python -m pipeline.bench`: speed figures, each as a ratio to a baseline measured in the same run."""
