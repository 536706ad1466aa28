"""Fixtures of the adapter tests: other libraries' detectors, built once per session."""

import detector_sources
import pytest
from detector_cases import photos, sparse_decoder

# Each source model, built by its builder in `tests/detector_sources.py`.
SOURCES = ("keras_hub_retinanet", "keras_hub_dfine", "keras_cv_retinanet", "keras_cv_yolov8")


@pytest.fixture(scope="session")
def source_models():
    """`{name: model}`, each with a decoder that keeps about 15 boxes per image."""
    images = photos()
    models = {}
    for name in SOURCES:
        models[name] = sparse_decoder(getattr(detector_sources, name)(), images)
    return models


@pytest.fixture(params=SOURCES)
def source(request, source_models):
    """`(name, model)` of each source model; its decoder is put back after the test."""
    model = source_models[request.param]
    decoder = model.prediction_decoder
    yield request.param, model
    if model.prediction_decoder is not decoder:
        model.prediction_decoder = decoder
