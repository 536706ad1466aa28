"""What a `COCOEvaluator` has accumulated, as plain numpy arrays, and merging such states.

Workers (tf.distribute replicas, hosts, dataset shards) each fill an evaluator; their
states travel as dicts of numpy arrays (picklable, `np.savez`-able without pickle) and are
joined into one evaluation whose numbers equal a single evaluator that saw every image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from nbdetect.bounding_box.image_size import image_size
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.utils import checks, tensors

# Bumped whenever a key or its meaning changes, so that an old state is refused instead of
# being read wrongly.
STATE_VERSION = 1
VERSION_KEY = "coco_state_version"

# key: (dtype kind, shape), where a shape entry is a size, "G" (ground-truth rows),
# "D" (detection rows) or None (any size).
_LAYOUT: dict[str, tuple[str, tuple]] = {
    VERSION_KEY: ("i", ()),
    "bounding_box_format": ("U", ()),
    "class_ids": ("i", (None,)),
    "class_ids_given": ("b", ()),
    "num_classes": ("i", ()),
    "image_shape": ("f", (None,)),
    "backend": ("U", ()),
    "class_mapping_ids": ("i", ("C",)),
    "class_mapping_names": ("U", ("C",)),
    "num_images": ("i", ()),
    "truth_image_ids": ("i", ("G",)),
    "truth_boxes": ("f", ("G", 4)),
    "truth_classes": ("i", ("G",)),
    "truth_areas": ("f", ("G",)),
    "truth_iscrowd": ("b", ("G",)),
    "detection_image_ids": ("i", ("D",)),
    "detection_boxes": ("f", ("D", 4)),
    "detection_classes": ("i", ("D",)),
    "detection_scores": ("f", ("D",)),
}
STATE_KEYS = tuple(_LAYOUT)
_DTYPES = {"i": np.int64, "f": np.float64, "b": bool}
_KIND_WORDS = {"i": "integer", "f": "number", "b": "boolean", "U": "string"}


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """An evaluator's settings and accumulated data, boxes already in `xywh` pixels."""

    bounding_box_format: str
    class_ids: np.ndarray | None
    num_classes: int | None
    image_shape: tuple | None  # (height, width), the only part of the shape that is used
    backend: str
    class_mapping: dict[int, str]
    ground_truth: GroundTruth
    detections: Detections
    num_images: int


def normalized_image_shape(image_shape: Any) -> tuple | None:
    """`(height, width)` as Python numbers (ints when whole), for comparing and saving."""
    if image_shape is None:
        return None
    sizes = image_size(None, image_shape, caller="COCOEvaluator")
    values = [float(np.asarray(tensors.to_numpy(size))) for size in sizes]
    return tuple(int(v) if v.is_integer() else v for v in values)


def to_state(snapshot: Snapshot) -> dict[str, np.ndarray]:
    """The snapshot as `{key: array}` with the keys of `STATE_KEYS`; arrays are copies."""
    truth, detections = snapshot.ground_truth, snapshot.detections
    mapping = sorted(snapshot.class_mapping.items())
    given = snapshot.class_ids is not None
    return {
        VERSION_KEY: np.array(STATE_VERSION, np.int64),
        "bounding_box_format": np.array(snapshot.bounding_box_format),
        "class_ids": np.array(snapshot.class_ids if given else [], np.int64),
        "class_ids_given": np.array(given),
        "num_classes": np.array(-1 if snapshot.num_classes is None else snapshot.num_classes),
        "image_shape": np.array(snapshot.image_shape or [], np.float64),
        "backend": np.array(snapshot.backend),
        "class_mapping_ids": np.array([k for k, _ in mapping], np.int64),
        # str() keeps the array a fixed-width unicode one, which np.load reads without pickle.
        "class_mapping_names": np.array([str(v) for _, v in mapping], dtype=np.str_),
        "num_images": np.array(snapshot.num_images, np.int64),
        "truth_image_ids": truth.image_ids.copy(),
        "truth_boxes": truth.boxes.copy(),
        "truth_classes": truth.classes.copy(),
        "truth_areas": truth.areas.copy(),
        "truth_iscrowd": truth.iscrowd.copy(),
        "detection_image_ids": detections.image_ids.copy(),
        "detection_boxes": detections.boxes.copy(),
        "detection_classes": detections.classes.copy(),
        "detection_scores": detections.scores.copy(),
    }


_EXPECTED_STATE = "a dict from COCOEvaluator.state() (or np.load() of one saved with np.savez)"


def read_state(state: Any, caller: str, argument: str) -> Snapshot:
    """Check a state dict (or `NpzFile`) and turn it into a `Snapshot`.

    Raises:
        TypeError: `state` is not a mapping.
        ValueError: keys missing, another state version, or arrays of the wrong kind,
            shape or length.
    """
    if not isinstance(state, Mapping):
        checks.fail(caller, argument, state, _EXPECTED_STATE, error=TypeError)
    # The version first: a state of another version may well lack some of today's keys.
    if VERSION_KEY in state:
        version = np.asarray(state[VERSION_KEY])
        if version.shape != () or version.item() != STATE_VERSION:
            checks.fail(
                caller,
                f"{argument}[{VERSION_KEY!r}]",
                version.tolist(),
                f"{STATE_VERSION}, the state version this nbdetect reads",
                "install the same nbdetect version on every worker and on the process "
                "that merges, then save the states again",
            )
    if VERSION_KEY not in state:
        raise ValueError(
            f"{caller}() got {argument} with the keys {sorted(state)[:12]}, without "
            f"{VERSION_KEY!r}; expected {_EXPECTED_STATE}. Fix: pass what state() "
            "returned, e.g. np.savez(path, **evaluator.state()) then np.load(path)."
        )
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise ValueError(
            f"{caller}() got {argument} without the keys {missing} (it has "
            f"{sorted(state)[:12]}); expected {_EXPECTED_STATE}. Fix: pass exactly what "
            "state() returned, e.g. np.savez(path, **evaluator.state()) then np.load(path)."
        )
    arrays = _checked_arrays(state, caller, argument)
    num_images = arrays["num_images"]
    if num_images < 0:
        checks.fail(caller, f"{argument}['num_images']", num_images, "a whole number >= 0")
    for prefix in ("truth", "detection"):
        ids = arrays[f"{prefix}_image_ids"]
        outside = ids[(ids < 0) | (ids >= num_images)]
        if len(outside):
            raise ValueError(
                f"{caller}() got {argument}['{prefix}_image_ids'] with {len(outside)} ids "
                f"outside [0, {num_images}) (e.g. {outside[0]}), {num_images} being its "
                "num_images; expected the image ids of a state. Fix: pass an unmodified "
                "state from COCOEvaluator.state()."
            )
    num_classes = int(arrays["num_classes"])
    shape = arrays["image_shape"]
    if len(shape) not in (0, 2):
        checks.fail(
            caller,
            f"{argument}['image_shape']",
            shape.tolist(),
            "[] (no image_shape) or [height, width]",
        )
    return Snapshot(
        bounding_box_format=str(arrays["bounding_box_format"]),
        class_ids=np.unique(arrays["class_ids"]) if arrays["class_ids_given"] else None,
        num_classes=None if num_classes == -1 else num_classes,
        image_shape=normalized_image_shape(shape) if len(shape) else None,
        backend=str(arrays["backend"]),
        class_mapping={
            int(k): str(v)
            for k, v in zip(arrays["class_mapping_ids"], arrays["class_mapping_names"])
        },
        ground_truth=GroundTruth(
            arrays["truth_image_ids"],
            arrays["truth_boxes"],
            arrays["truth_classes"],
            arrays["truth_areas"],
            arrays["truth_iscrowd"],
        ),
        detections=Detections(
            arrays["detection_image_ids"],
            arrays["detection_boxes"],
            arrays["detection_classes"],
            arrays["detection_scores"],
        ),
        num_images=num_images,
    )


def _checked_arrays(state: Mapping, caller: str, argument: str) -> dict[str, Any]:
    """Each entry of `_LAYOUT` in its canonical dtype (scalars as Python values)."""
    arrays, rows = {}, {}
    for key, (kind, shape) in _LAYOUT.items():
        value = np.asarray(state[key])
        name = f"{argument}[{key!r}]"
        # Integers are fine where floats are expected, unsigned ones where signed are.
        accepted = {"f": "fiu", "i": "iu"}.get(kind, kind)
        ok = value.dtype.kind in accepted and value.ndim == len(shape)
        for axis, size in enumerate(shape if ok else ()):
            if isinstance(size, str):
                first = rows.setdefault(size, (value.shape[axis], key))
                ok = ok and value.shape[axis] == first[0]
            elif size is not None:
                ok = ok and value.shape[axis] == size
        if not ok:
            word = _KIND_WORDS[kind]
            expected = f"a single {word}"
            if shape:
                sizes = ", ".join("n" if size is None else str(size) for size in shape)
                expected = f"an array of {word}s of shape [{sizes}]"
            letter = next((size for size in shape if isinstance(size, str)), None)
            if letter in rows and rows[letter][1] != key:
                expected += f", {letter} = {rows[letter][0]} as in {rows[letter][1]!r}"
            checks.fail(
                caller,
                name,
                value,
                expected,
                "pass an unmodified state from COCOEvaluator.state()",
            )
        value = value if kind == "U" else value.astype(_DTYPES[kind])
        arrays[key] = value.item() if not shape else value
    return arrays


def check_same_settings(ours: Snapshot, theirs: Snapshot, caller: str, where: str) -> None:
    """Raise a `ValueError` naming every setting in which `theirs` differs from `ours`."""
    differences = []
    for name in ("bounding_box_format", "class_ids", "num_classes", "image_shape"):
        mine, other = _setting(ours, name), _setting(theirs, name)
        if mine != other:
            differences.append((name, mine, other))
    if differences:
        here = ", ".join(f"{name}={mine!r}" for name, mine, _ in differences)
        there = ", ".join(f"{name}={other!r}" for name, _, other in differences)
        raise ValueError(
            f"{caller}() got {where} with {there}, but the evaluator it merges into has "
            f"{here}; expected the same settings. Fix: create the evaluator of every worker "
            "or shard with the same bounding_box_format, class_ids, num_classes and "
            "image_shape, so that all images are evaluated alike."
        )


def _setting(snapshot: Snapshot, name: str):
    value = getattr(snapshot, name)
    if name == "class_ids" and value is not None:
        return [int(c) for c in value]
    return value


def merged_class_mapping(
    ours: dict[int, str], others: list[tuple[str, dict[int, str]]], caller: str
) -> dict[int, str]:
    """The union of class mappings; a class named differently in two of them is an error."""
    merged = dict(ours)
    source = dict.fromkeys(ours, "this evaluator")
    for where, mapping in others:
        for class_id, name in mapping.items():
            if class_id in merged and str(merged[class_id]) != str(name):
                raise ValueError(
                    f"{caller}() got {where} with class_mapping[{class_id}]={name!r}, but "
                    f"{source[class_id]} names class {class_id} {merged[class_id]!r}; "
                    "expected one name per class id. Fix: give every evaluator the same "
                    "class_mapping (or none: names are only used when printing results)."
                )
            if class_id not in merged:
                merged[class_id], source[class_id] = name, where
    return merged


def join(snapshots: list[Snapshot]) -> tuple[GroundTruth, Detections, int]:
    """Concatenate snapshots' data; each one's images follow the previous ones' images."""
    truths, detections, offset = [], [], 0
    for snapshot in snapshots:
        truth, found = snapshot.ground_truth, snapshot.detections
        truths.append(dataclasses.replace(truth, image_ids=truth.image_ids + offset))
        detections.append(dataclasses.replace(found, image_ids=found.image_ids + offset))
        offset += snapshot.num_images
    return GroundTruth.concatenate(truths), Detections.concatenate(detections), offset
