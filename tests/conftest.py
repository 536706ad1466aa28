"""Test-wide setup: backend, quiet TensorFlow, headless matplotlib, hypothesis profile."""

import os

# Before anything imports Keras or TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

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
