"""TensorFlow strategies: MirroredStrategy against one device, MultiWorkerMirroredStrategy.

Each run is a fresh process (the devices and the cluster must be configured before
TensorFlow starts): see `run_mirrored.py` and `run_multi_worker.py`. Marked `distribute`:
run with `python -m pytest --run-distribute tests/distribute` (or
NBDETECT_RUN_DISTRIBUTE=1).
"""

import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from distribute_cases import (
    HERE,
    REPO,
    STEPS,
    compare_runs,
    load_run,
    mismatches,
    run_script,
    script_env,
    selected,
    tail,
)

pytestmark = pytest.mark.distribute

# The message TensorFlow gives when XLA cannot compile a step whose variables sit on
# several devices (https://www.tensorflow.org/xla/known_issues).
XLA_MULTI_DEVICE_ISSUE = "tfvariable_on_a_different_device"

# case: (pipeline, jit_compile of the replicated run)
MIRRORED_CASES = {
    "dense": ("dense", False),
    # The guide's pipeline: ragged_batch of per-image boxes of different counts, to_dense.
    "guide_ragged_pipeline": ("ragged", False),
    # Ragged boxes given to fit as they are (RetinaNet takes them on TensorFlow; compile()
    # builds what Keras would build from a batch reduced over the replicas, which fails).
    "ragged_targets": ("ragged_targets", False),
    "dense_jit_compile": ("dense", True),
}


@pytest.fixture(scope="module")
def mirrored_runs(request, background, tmp_path_factory):
    """The one-device reference and every selected case's replicated run, started now.

    Every pipeline yields the same three batches (the ragged ones padded to the same 3
    boxes), so one reference serves all cases: the dense pipeline on one device, no XLA.
    """
    cases = [
        case
        for case in MIRRORED_CASES
        if case in selected(request, "test_mirrored_strategy_equals_one_device")
    ]
    if not cases:
        return {}
    reference = tmp_path_factory.mktemp("one_device")
    single = background.run_script("run_mirrored.py", reference, "dense", "--mode", "single")
    runs = {}
    for case in cases:
        pipeline, jit = MIRRORED_CASES[case]
        out = tmp_path_factory.mktemp(f"mirrored_{case}")
        args = [out, pipeline, "--mode", "mirrored", *(["--jit"] if jit else [])]
        runs[case] = (reference, single), (out, background.run_script("run_mirrored.py", *args))
    return runs


@pytest.mark.parametrize("case", list(MIRRORED_CASES))
def test_mirrored_strategy_equals_one_device(mirrored_runs, case):
    """Two replicas on two logical CPUs train as one device does on the same global batches.

    Same initial weights, the same three batches of 4 images (2 per replica). The per-step
    logs (loss, box_loss, classification_loss) and the final weights must agree.
    BatchNormalization is synchronised on both sides (see `synchronize_batchnorm`).
    """
    (reference, single_run), (out, mirrored_run) = mirrored_runs[case]
    errors = {}
    for name, future in (("mirrored", mirrored_run), ("one-device reference", single_run)):
        try:
            future.result()
        except AssertionError as error:
            errors[name] = str(error)
    jit = MIRRORED_CASES[case][1]
    if jit and XLA_MULTI_DEVICE_ISSUE in errors.get("mirrored", "") and len(errors) == 1:
        line = next(x for x in errors["mirrored"].splitlines() if "Trying to access resource" in x)
        pytest.skip(
            "jit_compile=True under MirroredStrategy over two logical CPUs: XLA cannot "
            f"compile it on this platform: {line.strip()}"
        )
    assert not errors, "\n\n".join(f"{name} run: {text}" for name, text in errors.items())

    single, mirrored = load_run(reference, "single"), load_run(out, "mirrored")
    assert mirrored[0]["num_replicas_in_sync"] == 2
    assert mirrored[0]["jit_compile"] is jit
    assert mirrored[0]["iterations"] == single[0]["iterations"] == STEPS
    problems = compare_runs(single, mirrored, ("single", "mirrored"))
    assert not problems, "MirroredStrategy (2 replicas) differs from one device:\n" + "\n".join(
        problems
    )


def free_ports(count):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_multi_worker_mirrored_strategy_equals_one_device(tmp_path):
    """Two worker processes on 127.0.0.1 train 3 steps as one device does.

    Each worker holds one replica and reads half of every global batch (tf.data's DATA
    auto-sharding). Both end with the same weights, and their per-step logs and weights
    equal the one-device reference on the same global batches (as for MirroredStrategy).
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers, logs = [], []
    try:
        for index in range(2):
            config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115
            logs.append(log)
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(HERE / "run_multi_worker.py"), str(tmp_path)],
                    env=script_env(TF_CONFIG=json.dumps(config)),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=str(REPO),
                )
            )
        deadline = time.monotonic() + 300
        for worker in workers:
            try:
                worker.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
    finally:
        stragglers = [w for w in workers if w.poll() is None]
        for worker in stragglers:
            worker.kill()
        for worker in stragglers:
            worker.wait()
        for log in logs:
            log.close()

    def report():
        return "\n".join(
            f"--- worker {i} (exit {w.returncode}):\n"
            + tail((tmp_path / f"worker{i}.log").read_text(), 25)
            for i, w in enumerate(workers)
        )

    assert not stragglers, f"workers still running after 300 s were killed\n{report()}"
    assert all(w.returncode == 0 for w in workers), f"a worker failed\n{report()}"

    (first, first_weights), (second, second_weights) = (
        load_run(tmp_path, f"worker{i}") for i in range(2)
    )
    assert first["num_replicas_in_sync"] == second["num_replicas_in_sync"] == 2
    assert first["iterations"] == second["iterations"] == STEPS
    for result in (first, second):
        assert np.isfinite(result["logs"]["loss"]).all(), result["logs"]

    problems = mismatches(
        second_weights["final"],
        first_weights["final"],
        rtol=1e-6,
        atol=1e-6,
        what="worker 1 vs 0: ",
    )
    assert not problems, "the workers' final weights differ:\n" + "\n".join(problems[:10])

    reference = tmp_path / "one_device"
    run_script("run_mirrored.py", reference, "dense", "--mode", "single")
    problems = compare_runs(load_run(reference, "single"), (first, first_weights))
    assert not problems, "two workers differ from one device:\n" + "\n".join(problems)
