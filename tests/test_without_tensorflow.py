"""Colab TPU runtimes have JAX and no TensorFlow: the model side of nbdetect must import there."""

import os
import subprocess
import sys
import textwrap

import keras
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="runs in CI's JAX step (KERAS_BACKEND=jax)"
)

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys

    class BlockTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError("TensorFlow is blocked in this test")

    sys.meta_path.insert(0, BlockTensorFlow())
    import numpy as np
    from nbdetect import bounding_box
    from nbdetect.layers import MultiClassNonMaxSuppression
    from nbdetect.losses import FocalLoss
    from nbdetect.models import RetinaNet

    boxes = bounding_box.convert_format(np.array([[1, 2, 3, 4.0]]), "xywh", "xyxy")
    assert boxes.tolist() == [[1, 2, 4, 6]], boxes
    decoder = MultiClassNonMaxSuppression("xyxy", from_logits=True)
    out = decoder(np.array([[[0, 0, 10, 10.0]]]), np.array([[[5.0, -5.0]]]))
    assert int(out["num_detections"][0]) == 1
    assert "tensorflow" not in sys.modules
    print("ok")
    """
)


def test_bounding_box_nms_losses_and_models_import_without_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
