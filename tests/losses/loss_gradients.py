"""Gradients of a scalar function of one array, on whichever Keras backend runs the tests."""

import keras
import numpy as np


def gradient(fn, x):
    """`d fn(x) / dx` as a numpy array; `fn` maps a backend tensor to a scalar tensor."""
    x = np.asarray(x, "float32")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = fn(variable)
        return tape.gradient(value, variable).numpy()
    if backend == "jax":
        import jax

        return np.array(jax.grad(fn)(jax.numpy.asarray(x)))
    if backend == "torch":
        import torch

        tensor = torch.tensor(x, requires_grad=True)
        fn(tensor).backward()
        return tensor.grad.numpy()
    raise NotImplementedError(f"No gradient helper for the {backend} backend.")
