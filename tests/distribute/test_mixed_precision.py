"""Mixed precision: training and outputs under `mixed_float16` and `mixed_bfloat16`.

Each case runs in a fresh process (`run_mixed_precision.py`): the global dtype policy
must be set before the model is built. Marked `distribute`: run with
`python -m pytest --run-distribute tests/distribute`.
"""

import json

import numpy as np
import pytest
from distribute_cases import STEPS, script_env, selected

pytestmark = pytest.mark.distribute

CASES = {
    "tensorflow-mixed_float16": ("tensorflow", "mixed_float16"),
    "tensorflow-mixed_bfloat16": ("tensorflow", "mixed_bfloat16"),
    "jax-mixed_bfloat16": ("jax", "mixed_bfloat16"),
}


@pytest.fixture(scope="module")
def runs(request, background, tmp_path_factory):
    """The selected cases' runs, started now, two processes at a time."""
    futures = {}
    for case in selected(request, "test_mixed_precision_trains_with_float32_losses_and_outputs"):
        backend, policy = CASES[case]
        out = tmp_path_factory.mktemp(case)
        script = background.run_script(
            "run_mixed_precision.py", out, policy, env=script_env(backend)
        )
        futures[case] = out, script
    return futures


@pytest.mark.parametrize("case", list(CASES))
def test_mixed_precision_trains_with_float32_losses_and_outputs(runs, case):
    backend, policy = CASES[case]
    out, future = runs[case]
    future.result()
    result = json.loads((out / "result.json").read_text())
    compute_dtype = policy.removeprefix("mixed_")

    # The policy is in effect: float16 / bfloat16 convolutions, float32 variables.
    assert (result["backend"], result["policy"]) == (backend, policy)
    assert (result["conv_compute_dtype"], result["conv_variable_dtype"]) == (
        compute_dtype,
        "float32",
    )
    if policy == "mixed_float16":
        # Keras wraps the optimizer for dynamic loss scaling under mixed_float16.
        assert result["optimizer"] == "LossScaleOptimizer"

    logs = result["logs"]
    for key in ("loss", "box_loss", "classification_loss"):
        assert len(logs[key]) == STEPS and np.isfinite(logs[key]).all(), (key, logs[key])
    assert result["iterations"] == STEPS
    changed, total = map(int, result["weights_changed"].split("/"))
    assert changed > 0, f"training changed no weight ({result['applied_steps']} steps applied)"

    # The losses the train step computes, as traced, and the model's outputs: float32.
    assert result["traced_dtypes"] == {
        "loss": ["float32"],
        "box_loss": ["float32"],
        "classification_loss": ["float32"],
    }
    assert result["raw_dtypes"] == {"box": "float32", "classification": "float32"}
    assert result["predict_dtypes"]["boxes"] == "float32"
    assert result["predict_dtypes"]["confidence"] == "float32"
    assert all(result["predict_finite"].values()), result["predict_finite"]
