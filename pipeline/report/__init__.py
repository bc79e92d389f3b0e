"""The comparison report: `python -m pipeline.report EXPERIMENT` tabulates and plots the runs of a
named experiment per arm (what the sweep varied, seeds pooled).

Reads the MLflow store only; never imports TensorFlow or Keras.
"""
