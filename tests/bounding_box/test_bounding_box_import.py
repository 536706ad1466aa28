"""`import nbdetect` stays cheap: submodules load on first use."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(code):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    env.setdefault("KERAS_BACKEND", "tensorflow")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_import_nbdetect_loads_no_submodule_and_does_not_need_matplotlib():
    # Keras 3 itself imports matplotlib.pyplot when it can (keras.src.visualization), so
    # "matplotlib" in sys.modules after `import nbdetect` says nothing about nbdetect. With
    # matplotlib blocked, Keras does without it; `import nbdetect` and the box utilities
    # must too (a blocked module raises ImportError when imported).
    out = _run(
        "import sys; sys.modules['matplotlib'] = None; import nbdetect; "
        "loaded = [m for m in ('nbdetect.bounding_box', 'nbdetect.visualization') "
        "if m in sys.modules]; "
        "from nbdetect import bounding_box; "
        "print(loaded, bounding_box.convert_format([[1, 2, 3, 4]], 'xyxy', 'xywh').tolist())"
    )
    assert out == "[] [[1.0, 2.0, 2.0, 2.0]]"


def test_from_nbdetect_import_bounding_box():
    import nbdetect
    from nbdetect import bounding_box

    assert bounding_box is sys.modules["nbdetect.bounding_box"]
    assert nbdetect.bounding_box is bounding_box
    assert "bounding_box" in dir(nbdetect)
    for name in bounding_box.__all__:
        assert getattr(bounding_box, name) is not None
    assert bounding_box.FORMATS == (
        "xyxy",
        "yxyx",
        "xywh",
        "center_xywh",
        "center_yxhw",
        "rel_xyxy",
        "rel_yxyx",
        "rel_xywh",
        "rel_center_xywh",
    )
    with pytest.raises(AttributeError, match="no attribute 'bounding_boxes'"):
        nbdetect.bounding_boxes  # noqa: B018
