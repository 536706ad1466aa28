"""Detection datasets in nbdetect's data contract, ready for `ragged_batch` and augmentation.

Every loader returns `(dataset, class_names)`: an unbatched `tf.data.Dataset` of
`{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes": {"boxes": [N, 4] float32,
"classes": [N] float32}}`, boxes in the `bounding_box_format` you ask for, and the class
names indexed by class id.

- `load_shapes`: a bundled dataset generated on the fly; no files, no downloads.
- `load_pascal_voc`: Pascal VOC through TensorFlow Datasets, as the KerasCV guide loads it.
- `load_coco_json`, `load_voc_xml`: your own data, in COCO JSON or Pascal VOC XML files,
  checked entry by entry when loaded.
- `COCO_CLASSES`, `VOC_CLASSES`, `torchvision_coco_classes()` (`class_names`): the class
  names of the datasets pretrained detectors were trained on::

    from nbdetect import bounding_box, datasets

    train_ds, class_names = datasets.load_shapes("train", bounding_box_format="xywh")
    train_ds = train_ds.shuffle(64).ragged_batch(4)
    train_ds = train_ds.map(
        lambda x: {**x, "bounding_boxes": bounding_box.to_dense(x["bounding_boxes"], 32)}
    )
"""

from nbdetect.datasets.class_names import (
    COCO_CATEGORY_IDS,
    COCO_CLASSES,
    VOC_CLASSES,
    torchvision_coco_classes,
)
from nbdetect.datasets.coco_json import load_coco_json
from nbdetect.datasets.common import LoadResult
from nbdetect.datasets.errors import (
    AnnotationError,
    DatasetNotAvailableError,
    LoadReport,
)
from nbdetect.datasets.pascal_voc import load_pascal_voc, unpackage_raw_tfds_inputs
from nbdetect.datasets.shapes import (
    BACKGROUNDS,
    SHAPES_CLASSES,
    ShapesConfig,
    ShapesExample,
    generate_shapes_example,
    load_shapes,
)
from nbdetect.datasets.voc_xml import load_voc_xml

__all__ = [
    "BACKGROUNDS",
    "COCO_CATEGORY_IDS",
    "COCO_CLASSES",
    "SHAPES_CLASSES",
    "VOC_CLASSES",
    "AnnotationError",
    "DatasetNotAvailableError",
    "LoadReport",
    "LoadResult",
    "ShapesConfig",
    "ShapesExample",
    "generate_shapes_example",
    "load_coco_json",
    "load_pascal_voc",
    "load_shapes",
    "load_voc_xml",
    "torchvision_coco_classes",
    "unpackage_raw_tfds_inputs",
]
