"""COCOResult: a mapping of the 12 numbers, a dict, and a readable table."""

import numpy as np
import pytest

from nbdetect.metrics import METRIC_NAMES, COCOEvaluator, COCOResult


@pytest.fixture
def result():
    evaluator = COCOEvaluator("xyxy", class_mapping={0: "cat", 2: "dog"})
    y_true = {
        "boxes": np.array([[[0, 0, 40, 40], [50, 50, 200, 200]], [[0, 0, 10, 10], [-1] * 4]]),
        "classes": np.array([[0, 2], [0, -1]]),
    }
    y_pred = {
        "boxes": np.array([[[0, 0, 40, 40], [0, 0, 5, 5]], [[0, 0, 10, 10], [1, 1, 9, 9]]]),
        "classes": np.array([[0, 5], [0, 0]]),
        "confidence": np.array([[0.9, 0.8], [0.7, 0.6]]),
    }
    evaluator.update(y_true, y_pred)
    return evaluator.compute()


def test_behaves_like_a_read_only_mapping(result):
    assert isinstance(result, COCOResult)
    assert list(result.keys()) == list(METRIC_NAMES)
    assert len(result) == 12
    assert dict(result) == result.to_dict()
    assert all(isinstance(v, float) for v in result.values())
    assert result["MaP@[IoU=50]"] == pytest.approx(0.5)  # cat: 1.0, dog: 0.0, class 5: n/a
    with pytest.raises(TypeError):
        result["MaP"] = 1.0


def test_details(result):
    assert list(result.class_ids) == [0, 2, 5]
    assert result.precision.shape == (10, 101, 3, 4, 3)
    assert result.recall.shape == (10, 3, 4, 3)
    assert result.per_class_ap == {0: 1.0, 2: 0.0, 5: -1.0}
    assert result.per_class_recall[0] == 1.0
    assert result.to_dict(per_class=True)["AP@[class=2]"] == 0.0
    assert result.num_images == 2
    np.testing.assert_array_equal(result.stats, list(result.values()))


def test_prints_a_table(result):
    text = str(result)
    lines = text.splitlines()
    assert lines[0] == "COCO box metrics: 2 images, 3 classes"
    assert "MaP@[IoU=50]                : 0.5000" in text
    assert any(line.startswith("cat ") and "1.0000" in line for line in lines)
    assert any(line.startswith("dog ") for line in lines)
    assert any(line.startswith("5 ") and "n/a" in line for line in lines)
    assert "pycocotools reports -1" in text
    assert repr(result).startswith("COCOResult({'MaP': ")
