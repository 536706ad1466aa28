"""JAX: DataParallel over two host devices; TensorFlow-saved weights on JAX.

Each run is a fresh process (`run_jax_data_parallel.py`, `run_tf_jax_equality.py`): JAX's
device count and the Keras backend are fixed when they start. Marked `distribute`: run
with `python -m pytest --run-distribute tests/distribute`.
"""

import json

import numpy as np
import pytest
from distribute_cases import STEPS, compare_runs, load_run, run_script, script_env, selected

pytestmark = pytest.mark.distribute

TWO_HOST_DEVICES = "--xla_force_host_platform_device_count=2"


def tensorflow_then_jax(out):
    run_script("run_tf_jax_equality.py", "save", out, env=script_env("tensorflow"))
    run_script("run_tf_jax_equality.py", "load", out, env=script_env("jax"))


@pytest.fixture(scope="module")
def runs(request, background, tmp_path_factory):
    """The runs of the selected tests, started now, two processes at a time."""
    futures = {}
    if selected(request, "test_jax_data_parallel_equals_one_device"):
        out = tmp_path_factory.mktemp("jax_data_parallel")
        env = script_env("jax", XLA_FLAGS=TWO_HOST_DEVICES)
        futures["data_parallel"] = (
            out,
            [
                background.run_script("run_jax_data_parallel.py", out, "--mode", mode, env=env)
                for mode in ("parallel", "single")
            ],
        )
    if selected(request, "test_tensorflow_weights_give_the_same_outputs_on_jax"):
        out = tmp_path_factory.mktemp("tensorflow_to_jax")
        futures["tensorflow_to_jax"] = out, [background.submit(tensorflow_then_jax, out)]
    return futures


def test_jax_data_parallel_equals_one_device(runs):
    """`keras.distribution.DataParallel` over 2 CPU devices trains as one device does."""
    out, futures = runs["data_parallel"]
    for future in futures:
        future.result()
    single, parallel = load_run(out, "single"), load_run(out, "parallel")
    assert len(parallel[0]["devices"]) == 2, parallel[0]
    assert len(parallel[0]["kernel_devices"]) == 2, parallel[0]  # replicated variables
    assert parallel[0]["iterations"] == single[0]["iterations"] == STEPS
    for result, _ in (single, parallel):
        assert np.isfinite(result["logs"]["loss"]).all(), result["logs"]
    problems = compare_runs(single, parallel, ("single", "parallel"))
    assert not problems, "DataParallel (2 devices) differs from one device:\n" + "\n".join(problems)


def test_tensorflow_weights_give_the_same_outputs_on_jax(runs):
    """Weights a TensorFlow model saved: same raw outputs and detections on JAX."""
    out, (future,) = runs["tensorflow_to_jax"]
    future.result()
    with np.load(out / "tensorflow.npz") as saved:
        tf_out = dict(saved)
    with np.load(out / "jax_weights.npz") as saved:
        jax_out = dict(saved)
    assert (tf_out["detections_num_detections"] > 0).all(), "nothing detected: a vacuous check"

    for key in ("raw_box", "raw_classification"):
        np.testing.assert_allclose(jax_out[key], tf_out[key], rtol=1e-4, atol=1e-4, err_msg=key)
    np.testing.assert_array_equal(
        jax_out["detections_num_detections"], tf_out["detections_num_detections"]
    )
    np.testing.assert_array_equal(jax_out["detections_classes"], tf_out["detections_classes"])
    np.testing.assert_allclose(
        jax_out["detections_boxes"], tf_out["detections_boxes"], rtol=0, atol=1e-3
    )
    np.testing.assert_allclose(
        jax_out["detections_confidence"], tf_out["detections_confidence"], rtol=0, atol=1e-4
    )
    # The .keras file, loaded whole on JAX: the same variables, in the same order.
    keras_file = json.loads((out / "jax_keras.json").read_text())
    assert keras_file["loaded"] == keras_file["same"] == keras_file["variables"], keras_file
