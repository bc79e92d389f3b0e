"""The names of what tracking records in MLflow: tags, parameter prefixes, metric names.

Written by pipeline/tracking (a job's run, a multirun's parent), pipeline/search/pruning.py
(a pruned job) and the Optuna sweeper (its summary on the parent); read by pipeline/report,
the tests and anyone filtering runs in the UI (`tags.pruned = 'true'`). Both sides import
them from here. Imports nothing: the report and the sweeper load it for free.
"""

# A training job's run.
OVERRIDES_TAG = (
    "overrides"  # its Hydra overrides, space-separated: `optimizer=adam model.dropout=0.25`
)
OBJECTIVE_TAG = "objective"  # the sweep objective and which way is better: `max val_accuracy`
PRUNED_TAG = "pruned"  # TRUE on a job the sweeper's pruner stopped early
PRUNED_AT_EPOCH_TAG = "pruned_at_epoch"  # the last epoch it trained (1-based)
TRUE = "true"  # how a boolean tag reads
PARENT_ID_TAG = "mlflow.parentRunId"  # MLflow's own: the multirun's parent run of a job
FAILURE_REASON_TAG = "failure_reason"  # a FAILED run's exception: `TypeName: message`
MODEL_URI_TAG = "model_uri"  # the logged model, `models:/m-...`
REGISTERED_VERSION_TAG = "registered_version"  # `name/version` in the model registry

# A multirun's parent run.
MULTIRUN_TAG, PARENT_VALUE = "multirun", "parent"  # tags the parent; its jobs are its child runs
SWEEP_DIR_TAG = "sweep_dir"  # Hydra's sweep directory
SWEEP_PARAM_PREFIX = "sweep."  # params `sweep.KEY`: each key the multirun varied, with its values
BEST_CHILD_TAG = "best_child"  # the best job's `run name (overrides)`
BEST_CHILD_RUN_ID_TAG = "best_child_run_id"
CHILDREN_TAG = "children"  # how many jobs the multirun ran

# An Optuna search: its parent run and each trial's run name the study; a trial's run, its number.
OPTUNA_STUDY_TAG = "optuna_study"
OPTUNA_TRIAL_TAG = "optuna_trial"
# The search's summary on its parent run.
OPTUNA_BEST_VALUE_METRIC = "optuna/best_value"
OPTUNA_BEST_PARAMS_TAG = "optuna_best_params"
OPTUNA_BEST_TRIAL_TAG = "optuna_best_trial"

# Metric names are "section/name": the MLflow UI draws one chart section per prefix.
TRACKING_SECONDS_METRIC = "tracking/seconds"  # time a run spent in tracking code: its cost
# Per-epoch log keys that are neither training nor validation figures, and their section.
_EPOCH_KEY_SECTIONS = {
    "learning_rate": "optimizer",
    "epoch_time": "speed",
    "samples_per_second": "speed",
    "cpu_utilization": "speed",
}


def metric_name(key: str) -> str:
    """A Keras log key as a UI chart name: `val_loss` -> `val/loss`, `loss` -> `train/loss`,
    `test_recall_class_3` -> `test_per_class/recall_class_3` (a section of its own: 20 charts)."""
    if key in _EPOCH_KEY_SECTIONS:
        return f"{_EPOCH_KEY_SECTIONS[key]}/{key}"
    for split in ("val", "test"):
        if key.startswith(f"{split}_"):
            section = f"{split}_per_class" if "_class_" in key else split
            return f"{section}/{key.removeprefix(split + '_')}"
    return f"train/{key}"


def best_metric_name(objective: str) -> str:
    """The metric holding the sweep objective's best epoch value, e.g. `best/val_accuracy`."""
    return f"best/{objective}"
