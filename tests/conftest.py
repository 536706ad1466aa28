"""Test-wide setup: backend, quiet TensorFlow, headless matplotlib, hypothesis profile."""

import os

# Before anything imports Keras or TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# No deadline: the first example of a test pays for TensorFlow's one-off op setup.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
# A longer search, for when a property is changed: HYPOTHESIS_PROFILE=thorough pytest ...
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Tests marked `distribute` (tests/distribute: strategies, JAX devices, mixed precision)
# start TensorFlow / JAX processes of their own and take minutes: they run only when asked,
#     python -m pytest --run-distribute tests/distribute    (or NBDETECT_RUN_DISTRIBUTE=1).
def pytest_addoption(parser):
    parser.addoption(
        "--run-distribute",
        action="store_true",
        default=False,
        help="run the tests marked distribute (also: NBDETECT_RUN_DISTRIBUTE=1)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-distribute") or os.environ.get("NBDETECT_RUN_DISTRIBUTE") == "1":
        return
    skip = pytest.mark.skip(
        reason="distribute test: run with --run-distribute or NBDETECT_RUN_DISTRIBUTE=1"
    )
    for item in items:
        if item.get_closest_marker("distribute") is not None:
            item.add_marker(skip)
