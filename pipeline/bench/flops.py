"""Work per training sample, and what the machine can do: dense matmul as the ceiling."""

import time

import keras
import numpy as np

# A backward pass costs about twice the forward pass (gradients for inputs and weights).
TRAINING_PASSES = 3


def forward_flops_per_sample(model: keras.Model) -> int:
    """Multiply-adds (2 FLOPs each) of the convolutions and dense layers."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels_out = layer.output.shape
            kernel_height, kernel_width, channels_in, _ = layer.kernel.shape
            flops += 2 * height * width * kernel_height * kernel_width * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            units_in, units_out = layer.kernel.shape
            flops += 2 * units_in * units_out
    return flops


def training_flops_per_sample(model: keras.Model) -> int:
    return TRAINING_PASSES * forward_flops_per_sample(model)


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Float32 GFLOP/s of a large TensorFlow matmul on all cores: a practical peak for this
    machine (the nominal FMA peak needs the clock speed, which these VMs do not report)."""
    import tensorflow as tf

    a = tf.random.uniform((size, size))
    b = tf.random.uniform((size, size))
    tf.linalg.matmul(a, b).numpy()  # warm-up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
