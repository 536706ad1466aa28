"""The KerasCV guide's box-format, data-loading and plotting steps, with `keras_cv` -> `nbdetect`.

Each test keeps the guide's code as written (only the import changed) and then checks what
the guide's reader relies on: boxes in the requested format, dense shapes for the model,
and a picture with boxes where the objects are.
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

import nbdetect
from nbdetect import bounding_box, visualization

BATCH_SIZE = 4
IMAGE_SIZES = [(120, 160), (96, 128), (140, 100), (128, 128), (64, 80), (100, 150)]
# One object per example: a bright square whose position the test knows, in VOC's
# rel_yxyx box format.
REL_YXYX = np.array([0.25, 0.2, 0.75, 0.6], dtype=np.float32)

class_ids = ["Aeroplane", "Bicycle", "Bird", "Boat", "Bottle", "Bus", "Car", "Cat"]
class_mapping = dict(zip(range(len(class_ids)), class_ids))


def _voc_example(index):
    height, width = IMAGE_SIZES[index % len(IMAGE_SIZES)]
    image = np.full((height, width, 3), 30, np.uint8)
    y1, x1, y2, x2 = (REL_YXYX * [height, width, height, width]).astype(int)
    image[y1:y2, x1:x2] = 230
    return {
        "image": image,
        "image/filename": f"{index:06d}.jpg",
        "labels": np.array([index % 8], np.int64),
        "labels_no_difficult": np.array([index % 8], np.int64),
        "objects": {
            "bbox": REL_YXYX[None],
            "label": np.array([index % 8], np.int64),
            "pose": np.array([0], np.int64),
            "is_truncated": np.array([False]),
            "is_difficult": np.array([False]),
        },
    }


def _fake_voc(self, *args, **kwargs):
    return tf.data.Dataset.from_generator(
        lambda: (_voc_example(i) for i in range(8)),
        output_signature=self.info.features.get_tensor_spec(),
    )


# --- the guide's code, keras_cv replaced by nbdetect -------------------------------------
keras_cv = nbdetect


def unpackage_raw_tfds_inputs(inputs, bounding_box_format):
    image = inputs["image"]
    boxes = keras_cv.bounding_box.convert_format(
        inputs["objects"]["bbox"],
        images=image,
        source="rel_yxyx",
        target=bounding_box_format,
    )
    bounding_boxes = {
        "classes": tf.cast(inputs["objects"]["label"], dtype=tf.float32),
        "boxes": tf.cast(boxes, dtype=tf.float32),
    }
    return {"images": tf.cast(image, tf.float32), "bounding_boxes": bounding_boxes}


def load_pascal_voc(split, dataset, bounding_box_format):
    ds = tfds.load(dataset, split=split, with_info=False, shuffle_files=True)
    ds = ds.map(
        lambda x: unpackage_raw_tfds_inputs(x, bounding_box_format=bounding_box_format),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds


def visualize_dataset(inputs, value_range, rows, cols, bounding_box_format, path=None):
    inputs = next(iter(inputs.take(1)))
    images, bounding_boxes = inputs["images"], inputs["bounding_boxes"]
    visualization.plot_bounding_box_gallery(
        images,
        value_range=value_range,
        rows=rows,
        cols=cols,
        y_true=bounding_boxes,
        scale=5,
        font_scale=0.7,
        bounding_box_format=bounding_box_format,
        class_mapping=class_mapping,
        path=path,
    )


def dict_to_tuple(inputs):
    return inputs["images"], bounding_box.to_dense(inputs["bounding_boxes"], max_boxes=32)


# ------------------------------------------------------------------------------------------


@pytest.fixture
def train_ds():
    with tfds.testing.mock_data(as_dataset_fn=_fake_voc):
        ds = load_pascal_voc(split="train", dataset="voc/2007", bounding_box_format="xywh")
    return ds.ragged_batch(BATCH_SIZE, drop_remainder=True)


def test_data_loading_converts_rel_yxyx_to_pixels(train_ds):
    batch = next(iter(train_ds))
    boxes = batch["bounding_boxes"]["boxes"]
    assert isinstance(boxes, tf.RaggedTensor)
    for i, image_boxes in enumerate(boxes.to_list()):
        height, width = IMAGE_SIZES[i]
        y1, x1, y2, x2 = REL_YXYX * [height, width, height, width]
        np.testing.assert_allclose(image_boxes, [[x1, y1, x2 - x1, y2 - y1]], atol=1e-4)


def test_dict_to_tuple_gives_dense_targets(train_ds):
    resized = train_ds.map(
        lambda x: {
            "images": tf.image.resize(x["images"].to_tensor(), (64, 64)),
            "bounding_boxes": x["bounding_boxes"],
        }
    )
    images, targets = next(iter(resized.map(dict_to_tuple).prefetch(tf.data.AUTOTUNE)))
    assert images.shape == (BATCH_SIZE, 64, 64, 3)
    assert targets["boxes"].shape == (BATCH_SIZE, 32, 4)
    assert targets["classes"].shape == (BATCH_SIZE, 32)
    np.testing.assert_array_equal(targets["classes"][:, 1:], -1)
    np.testing.assert_array_equal(targets["classes"][:, 0], [0, 1, 2, 3])


def test_visualize_dataset_draws_boxes_on_the_objects(train_ds, tmp_path):
    path = tmp_path / "eval.png"
    # The guide's dataset holds images of different sizes: pad them as ragged images.
    visualize_dataset(
        train_ds,
        bounding_box_format="xywh",
        value_range=(0, 255),
        rows=2,
        cols=2,
        path=str(path),
    )
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert picture.shape[0] > 200 and picture.shape[1] > 200
    # The ground-truth colour appears in the picture: boxes were drawn.
    truth = np.array([192, 57, 43])
    assert (np.abs(picture.astype(int) - truth).sum(-1) < 30).sum() > 100


def test_predictions_plot_after_to_ragged(tmp_path):
    images = np.full((2, 96, 96, 3), 40.0, np.float32)
    y_pred = {
        "boxes": np.array(
            [[[10, 10, 30, 30], [-1, -1, -1, -1]], [[50, 40, 20, 20], [5, 5, 9, 9]]], np.float32
        ),
        "classes": np.array([[1, -1], [2, 3]], np.float32),
        "confidence": np.array([[0.9, -1], [0.8, 0.6]], np.float32),
        "num_detections": np.array([1, 2], np.int32),
    }
    ragged = bounding_box.to_ragged(y_pred)
    assert ragged["boxes"].row_lengths().numpy().tolist() == [1, 2]
    path = tmp_path / "pred.png"
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        bounding_box_format="xywh",
        y_pred=ragged,
        scale=4,
        rows=1,
        cols=2,
        show=False,
        path=str(path),
        font_scale=0.7,
        class_mapping=class_mapping,
    )
    assert Image.open(path).size[0] > Image.open(path).size[1]


def test_plot_image_gallery_of_one_photo(tmp_path):
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        image = np.array(Image.open(f))
    path = tmp_path / "photo.png"
    visualization.plot_image_gallery(
        [image], value_range=(0, 255), rows=1, cols=1, scale=5, path=str(path)
    )
    assert Image.open(path).size[0] >= 200
