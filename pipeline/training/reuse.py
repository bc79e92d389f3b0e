"""One traced training step per graph shape in a process: the jobs of a search or a multirun
that differ only in numbers train the model object the first of them compiled.

Keras traces `fit`'s step, `evaluate`'s and `predict`'s once per model object, about a second
each job for the convnet. The numbers a search sweeps are read from variables in the graph
(TunableDropout's rate, the optimizer's learning rate or PeakSchedule's numbers), so a kept
model whose structure equals a new job's takes that job's state and numbers instead:

- every variable of the new, freshly built model (weights as initialised under the job's
  seed, the dropout layers' seed-generator states), then its rates;
- every variable of its optimizer, built on the fresh weights (iterations, slots with
  their own initial values, the learning rate), and its schedule's numbers.

The kept model then holds exactly what the fresh one would have at its first step, so a
deterministic job's numbers do not depend on which jobs ran before it in the process.
"""

import json
from collections import OrderedDict

import keras

from pipeline.training.models import TunableDropout
from pipeline.training.optimizers import PeakSchedule

# Graph shapes a process keeps: a search over three optimizers, with and without dropout,
# holds six; each is about three copies of the weights.
KEPT = 8

_kept: OrderedDict[str, keras.Model] = OrderedDict()


def reuse_traced(model: keras.Model, deterministic: bool) -> keras.Model:
    """The kept model of `model`'s structure, given `model`'s state; or `model`, now kept."""
    key = structure(model, deterministic)
    kept = _kept.get(key)
    if kept is None or not _same_variables(kept, model):
        _kept[key] = model
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
        return model
    _kept.move_to_end(key)
    _take_state(kept, model)
    return kept


def forget_traced() -> None:
    """Drop the kept models (tests; or a process that changes its TensorFlow settings)."""
    _kept.clear()


def structure(model: keras.Model, deterministic: bool) -> str:
    """Everything a traced step bakes in: the model's and its compile config (which hold the
    layers' dtype policies and jit_compile), less the numbers read from variables."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == TunableDropout.__name__:
            layer["config"].pop("rate")
    compile_config = model.get_compile_config()
    optimizer = compile_config["optimizer"]["config"]
    optimizer.pop("name")  # a label, counted up per process (adam, adam_1...)
    rate = optimizer.pop("learning_rate")
    schedule = _schedule(model.optimizer)
    if isinstance(schedule, PeakSchedule):
        optimizer["learning_rate"] = {"schedule": schedule.shape}
    elif isinstance(rate, dict):  # another schedule: its numbers are constants in the graph
        optimizer["learning_rate"] = rate
    return json.dumps(
        {"model": config, "compile": compile_config, "deterministic": deterministic},
        sort_keys=True,
        default=str,
    )


def _schedule(optimizer: keras.optimizers.Optimizer):
    """The learning rate as the optimizer holds it (a variable or a schedule); under mixed
    precision the loss-scale optimizer's inner one holds it."""
    return getattr(optimizer, "inner_optimizer", optimizer)._learning_rate


def _same_variables(kept: keras.Model, fresh: keras.Model) -> bool:
    # Shapes and dtypes, not paths: paths carry process-wide counters (seed_generator_2/...).
    return [(v.shape, v.dtype) for v in kept.variables] == [
        (v.shape, v.dtype) for v in fresh.variables
    ]


def _take_state(kept: keras.Model, fresh: keras.Model) -> None:
    for target, source in zip(kept.variables, fresh.variables, strict=True):
        target.assign(source)
    for target, source in zip(kept.layers, fresh.layers, strict=True):
        if isinstance(target, TunableDropout):
            target.set_rate(source.rate)
    optimizer = fresh.optimizer
    optimizer.build(fresh.trainable_variables)  # its slots' initial values (not all zeros)
    if not kept.optimizer.built:  # the job that compiled it stopped before its first step
        kept.optimizer.build(kept.trainable_variables)
    for target, source in zip(kept.optimizer.variables, optimizer.variables, strict=True):
        target.assign(source)
    schedule = _schedule(kept.optimizer)
    if isinstance(schedule, PeakSchedule):
        schedule.assign(_schedule(optimizer))
    kept.reset_metrics()
