"""A second `fit` / `evaluate` / `predict` with the same shapes runs the traced step again.

Python code inside the step (here a counter around `model.call`) runs only while the step
is traced (`tf.function` on TensorFlow, `jax.jit` on JAX), so the count grows exactly
when Keras traces a step anew.
"""

import functools

import pytest
import tensorflow as tf
from distribute_cases import build_model, compile_model, synthetic_data


@pytest.fixture(scope="module")
def counted():
    model = compile_model(build_model())
    traces = {"call": 0}
    call = model.call

    @functools.wraps(call)
    def counting_call(*args, **kwargs):
        traces["call"] += 1
        return call(*args, **kwargs)

    model.call = counting_call
    return model, traces


def datasets():
    data = synthetic_data()
    targets = {"boxes": data["boxes"], "classes": data["classes"]}
    train = tf.data.Dataset.from_tensor_slices((data["images"], targets)).batch(4).repeat()
    test = tf.data.Dataset.from_tensor_slices((data["images"], targets)).batch(4)
    images = tf.data.Dataset.from_tensor_slices(data["images"]).batch(4)
    return train, test, images


def traces_of(traces, run):
    before = traces["call"]
    run()
    return traces["call"] - before


def test_second_call_with_the_same_shapes_does_not_trace_again(counted):
    model, traces = counted
    train, test, images = datasets()
    runs = {
        "fit": lambda: model.fit(train, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0),
        "evaluate": lambda: model.evaluate(test, verbose=0),
        "predict": lambda: model.predict(images, verbose=0),
        "predict_raw": lambda: model.predict_raw(images, verbose=0),
    }
    counts = {}
    for name, run in runs.items():
        counts[name] = (traces_of(traces, run), traces_of(traces, run))
    # The counter works: every first call traced its step.
    assert all(first > 0 for first, _ in counts.values()), counts
    assert all(second == 0 for _, second in counts.values()), (
        f"traces per (first, second) call: {counts}"
    )
