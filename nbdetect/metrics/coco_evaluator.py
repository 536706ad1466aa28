"""COCO box evaluation on the host: accumulate batches, then compute pycocotools' numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nbdetect.bounding_box.formats import check_format
from nbdetect.metrics import coco_numpy, coco_state, pycocotools_backend
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_inputs import (
    detections_from_rows,
    ground_truth_from_rows,
    parse_detections,
    parse_ground_truth,
)
from nbdetect.metrics.coco_result import COCOResult
from nbdetect.utils import checks

BACKENDS = ("numpy", "pycocotools")


class COCOEvaluator:
    """COCO box metrics with exactly the semantics of pycocotools' `COCOeval(iouType="bbox")`.

    Feed it batches of ground truth and predictions with `update()`, then `compute()`.
    Everything runs on the host in float64 numpy, vectorized (tens of times faster than
    pycocotools, see `benchmarks/coco_eval.py`), and gives pycocotools' numbers, not
    approximations of them:

    * every image counts, with or without predictions; class 0 is a class like any other;
    * classes without ground truth (in an area range) are left out of the means, as
      pycocotools' -1 entries are; a summary number with nothing to average is -1;
    * 10 IoU thresholds 0.50:0.95, 101 recall points, at most 1 / 10 / 100 detections per
      image and class (the highest scoring, ties in input order), small / medium / large
      ranges from box area in pixels (or from `y_true["areas"]`), crowd regions from
      `y_true["iscrowd"]`.

    Args:
        bounding_box_format: the format of all boxes passed to `update()`, e.g. `"xywh"`;
            relative (`rel_`) formats need `images` or `image_shape`.
        class_ids: the classes to evaluate; boxes of other classes are ignored. By default
            every class that occurs in the ground truth or the predictions.
        image_shape: `(height, width)` of all images, for relative formats when `update()`
            gets no `images`.
        backend: `"numpy"` (default) or `"pycocotools"`, which runs pycocotools itself on
            the same data (slow; for users who want the reference implementation).
        class_mapping: optional `{class_id: name}`, used when printing the result.
        num_classes: when given, `update()` refuses class ids outside `0 .. num_classes - 1`
            (and -1 padding) in truth and predictions instead of evaluating them as
            classes of their own.

    Several workers or dataset shards: fill one evaluator each, then join them with
    `merge()` / `COCOEvaluator.merged()`, in this process or from the `state()` each
    worker saved; the merged numbers equal those of one evaluator that saw every image.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> from nbdetect.metrics import COCOEvaluator
        >>> _, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=2, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # untrained: mAP 0
        >>> evaluator = COCOEvaluator(bounding_box_format="xywh")
        >>> for images, y_true in eval_ds:
        ...     evaluator.update(y_true, model.predict(images, verbose=0))
        >>> result = evaluator.compute()
        >>> result["MaP"]
        0.0
        >>> print(result)  # the 12 numbers and per-class AP as a table
        COCO box metrics: 4 images, ... classes
        ...
    """

    def __init__(
        self,
        bounding_box_format: str,
        class_ids: Iterable[int] | None = None,
        image_shape: Any = None,
        backend: str = "numpy",
        class_mapping: Mapping[int, str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.num_classes = checks.whole_number(
            num_classes, "num_classes", "COCOEvaluator", none_ok=True
        )
        self.bounding_box_format = check_format(
            bounding_box_format, "bounding_box_format", "COCOEvaluator"
        )
        self.class_ids = None if class_ids is None else np.unique(np.asarray(class_ids, np.int64))
        self.image_shape = image_shape
        self.backend = _check_backend(backend)
        self.class_mapping = dict(class_mapping or {})
        self.reset()

    def reset(self) -> None:
        """Forget every batch seen so far."""
        # Batches are parsed and checked on arrival but converted to xywh in bulk, so an
        # update costs a copy, not a Keras call; converted data is kept for later computes.
        self._pending_truth: list[dict] = []
        self._pending_predictions: list[dict] = []
        self._ground_truth = GroundTruth.concatenate([])
        self._detections = Detections.concatenate([])
        self._num_images = 0

    def __repr__(self) -> str:
        return (
            f"COCOEvaluator(bounding_box_format={self.bounding_box_format!r}, "
            f"num_images={self._num_images})"
        )

    @property
    def num_images(self) -> int:
        """How many images `update()` has received since the last `reset()`."""
        return self._num_images

    def update(
        self, y_true: dict, y_pred: dict, images: Any = None, image_shape: Any = None
    ) -> None:
        """Add one batch (or one image) of ground truth and predictions.

        Args:
            y_true: `{"boxes": [B, N, 4], "classes": [B, N]}` (`"labels"` also works),
                dense and padded with class -1, or ragged (`tf.RaggedTensor`s or lists of
                per-image arrays); `[N, 4]` / `[N]` for one image. Optional per-box
                `"areas"` (replace box areas for the small / medium / large ranges) and
                `"iscrowd"` (crowd regions: matching them is neither a hit nor a miss).
            y_pred: `{"boxes", "classes", "confidence"}` in the same layouts (`[B, M, ...]`),
                optionally `"num_detections"` `[B]`: entries past it, or with class -1, are
                padding. What a detector's `predict()` returns.
            images: the batch's images `[B, H, W, C]`, only read for their size (relative
                formats).
            image_shape: `(height, width)` instead of `images`; defaults to the evaluator's.

        Raises:
            ValueError: malformed input: different batch sizes in `y_true` and `y_pred`,
                missing keys or `"confidence"`, NaN coordinates or scores, boxes with
                negative width or height, relative boxes without an image size, class ids
                that are not whole numbers, negative (other than -1 padding) or, with
                `num_classes`, too large.
        """
        if images is None and image_shape is None:
            image_shape = self.image_shape
        fmt = self.bounding_box_format
        first, count = self._num_images, self.num_classes
        truth, num_true = parse_ground_truth(y_true, fmt, first, images, image_shape, count)
        detections, num_pred = parse_detections(y_pred, fmt, first, images, image_shape, count)
        if num_true != num_pred:
            raise ValueError(
                f"COCOEvaluator.update() got y_true for {num_true} images but y_pred for "
                f"{num_pred} images. Pass the predictions for exactly the images of "
                "y_true, in the same order (one batch of each)."
            )
        self._pending_truth.append(truth)
        self._pending_predictions.append(detections)
        self._num_images += num_true

    def compute(self, backend: str | None = None) -> COCOResult:
        """Evaluate everything seen since the last `reset()`.

        Args:
            backend: `"numpy"` or `"pycocotools"`; defaults to the evaluator's.

        Returns:
            A `COCOResult`: a mapping of the 12 summary numbers (`"MaP"`, ...,
            `"Recall@[area=large]"`) with per-class AP and the full `precision` /
            `recall` arrays.
        """
        backend = self.backend if backend is None else _check_backend(backend)
        truth, detections = self._converted()
        class_ids = self._evaluated_class_ids(truth, detections)
        run = coco_numpy.evaluate if backend == "numpy" else pycocotools_backend.evaluate
        precision, recall = run(truth, detections, class_ids, self._num_images)
        return COCOResult(precision, recall, class_ids, self._num_images, self.class_mapping)

    def state(self) -> dict[str, np.ndarray]:
        """Everything accumulated so far, with the settings, as a dict of numpy arrays.

        Send it from a worker to the process that merges: it pickles, and saves with
        `np.savez(path, **evaluator.state())` (read back with `np.load(path)`, no pickle
        needed). `COCOEvaluator.from_state()` rebuilds the evaluator; `merge()` and
        `merged()` take it in place of an evaluator. Boxes are stored converted to `xywh`
        pixels, so the merging process needs neither the images nor their sizes.

        Returns:
            Copies, one array per key: `"coco_state_version"` (int scalar), the settings
            (`"bounding_box_format"`, `"backend"`: str scalars; `"class_ids"` `[K]` with
            `"class_ids_given"` bool; `"num_classes"`, -1 for None; `"image_shape"` `[2]`
            or `[0]`; `"class_mapping_ids"` / `"class_mapping_names"` `[C]`),
            `"num_images"` (int scalar), the ground truth (`"truth_image_ids"` `[G]`,
            `"truth_boxes"` `[G, 4]`, `"truth_classes"`, `"truth_areas"`,
            `"truth_iscrowd"` `[G]`) and the detections (`"detection_image_ids"`,
            `"detection_boxes"` `[D, 4]`, `"detection_classes"`, `"detection_scores"`).
            Image ids count `0 .. num_images - 1` in the order `update()` received them.

        Example:
            >>> import io
            >>> import numpy as np
            >>> from nbdetect.metrics import COCOEvaluator
            >>> worker = COCOEvaluator(bounding_box_format="xyxy")
            >>> worker.update(
            ...     {"boxes": np.array([[[10.0, 10, 30, 30]]]), "classes": np.array([[2]])},
            ...     {"boxes": np.array([[[10.0, 10, 30, 30]]]), "classes": np.array([[2]]),
            ...      "confidence": np.array([[0.8]])})
            >>> file = io.BytesIO()  # or a path on storage that every worker can reach
            >>> np.savez(file, **worker.state())
            >>> _ = file.seek(0)
            >>> restored = COCOEvaluator.from_state(np.load(file))
            >>> restored.num_images, round(restored.compute()["MaP"], 4)
            (1, 1.0)
        """
        return coco_state.to_state(self._snapshot())

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> COCOEvaluator:
        """A new evaluator with the settings and data of a `state()`.

        Args:
            state: what `state()` returned, or `np.load()` of a file saved from it.

        Returns:
            An evaluator that computes what the saved one would, and can take more
            `update()`s or be merged.

        Raises:
            TypeError: `state` is not a mapping.
            ValueError: keys are missing, the state was written by an nbdetect with another
                state version, or its arrays do not fit together.
        """
        return cls._from_snapshot(coco_state.read_state(state, "COCOEvaluator.from_state", "state"))

    def merge(self, *others: COCOEvaluator | Mapping[str, Any]) -> COCOEvaluator:
        """Add the images of other evaluators (or their `state()`s) to this one, in place.

        The images of each are appended after this evaluator's, in the order given, and
        renumbered so that no two shards share an image. `compute()` then gives exactly
        what one evaluator gives that saw the same images in that order (the order only
        decides between detections of exactly equal score, as in pycocotools). The
        evaluators passed are not changed.

        Args:
            *others: `COCOEvaluator`s or dicts from `state()`, with the same
                `bounding_box_format`, `class_ids`, `num_classes` and `image_shape` as this
                one (`backend` may differ; this one's is kept). Class mappings are joined.

        Returns:
            `self`, so that `COCOEvaluator(...).merge(a, b).compute()` reads in one line.

        Raises:
            TypeError: an argument is neither an evaluator nor a mapping.
            ValueError: settings differ (the message names each), a class id is named
                differently in two class mappings, an evaluator is passed twice (or is this
                one), or a state is malformed (see `from_state()`). Nothing is merged then.

        Example:
            >>> import numpy as np
            >>> from nbdetect.metrics import COCOEvaluator
            >>> y_true = {"boxes": np.array([[[10.0, 10, 20, 20]], [[50, 50, 10, 10]]]),
            ...           "classes": np.array([[1], [2]])}
            >>> y_pred = {"boxes": np.array([[[10.0, 10, 20, 20]], [[0, 0, 5, 5]]]),
            ...           "classes": np.array([[1], [2]]), "confidence": np.array([[0.9], [0.8]])}
            >>> shards = [COCOEvaluator(bounding_box_format="xywh") for _ in range(2)]
            >>> for i, shard in enumerate(shards):  # e.g. one per worker
            ...     shard.update({k: v[i:i + 1] for k, v in y_true.items()},
            ...                  {k: v[i:i + 1] for k, v in y_pred.items()})
            >>> merged = shards[0].merge(shards[1].state())
            >>> merged.num_images, round(merged.compute()["MaP"], 4)
            (2, 0.5)
        """
        caller = "COCOEvaluator.merge"
        sources = _sources(others, caller, [f"argument {i + 1}" for i in range(len(others))])
        _refuse_repeats([self, *others], ["this evaluator"] + [w for w, _ in sources], caller)
        self._absorb(sources, caller)
        return self

    @classmethod
    def merged(cls, evaluators: Iterable[COCOEvaluator | Mapping[str, Any]]) -> COCOEvaluator:
        """A new evaluator holding the images of all `evaluators`, one after the other.

        Args:
            evaluators: `COCOEvaluator`s or dicts from `state()` (at least one), e.g. one
                per worker or dataset shard. The first gives the settings, backend and
                class mapping; see `merge()` for what must match.

        Returns:
            A new evaluator; the ones passed are not changed.

        Raises:
            TypeError: `evaluators` is a single evaluator or state instead of a list of
                them, or holds something else.
            ValueError: no evaluators, or as `merge()`.

        Example:
            >>> import numpy as np
            >>> from nbdetect.metrics import COCOEvaluator
            >>> shards = [COCOEvaluator(bounding_box_format="xywh") for _ in range(3)]
            >>> for i, shard in enumerate(shards[:2]):  # the last shard had no images
            ...     shard.update(
            ...         {"boxes": np.array([[[10.0, 10, 20, 20]]]), "classes": np.array([[0]])},
            ...         {"boxes": np.array([[[10.0 + 5 * i, 10, 20, 20]]]),
            ...          "classes": np.array([[0]]), "confidence": np.array([[0.9]])})
            >>> result = COCOEvaluator.merged(shards).compute()
            >>> result.num_images, round(result["MaP@[IoU=50]"], 4)
            (2, 1.0)
        """
        caller = "COCOEvaluator.merged"
        if isinstance(evaluators, (COCOEvaluator, Mapping)) or not isinstance(evaluators, Iterable):
            checks.fail(
                caller,
                "evaluators",
                evaluators,
                "a list of COCOEvaluators or of dicts from COCOEvaluator.state()",
                "wrap a single one in a list: COCOEvaluator.merged([evaluator])",
                error=TypeError,
            )
        evaluators = list(evaluators)
        if not evaluators:
            checks.fail(
                caller,
                "evaluators",
                evaluators,
                "at least one COCOEvaluator or state",
                "pass the evaluators of all workers, including those that saw no images",
            )
        names = [f"evaluators[{i}]" for i in range(len(evaluators))]
        sources = _sources(evaluators, caller, names)
        _refuse_repeats(evaluators, names, caller)
        result = cls._from_snapshot(sources[0][1])
        result._absorb(sources[1:], caller)
        return result

    @classmethod
    def _from_snapshot(cls, snapshot: coco_state.Snapshot) -> COCOEvaluator:
        evaluator = cls(
            snapshot.bounding_box_format,
            snapshot.class_ids,
            snapshot.image_shape,
            snapshot.backend,
            snapshot.class_mapping,
            snapshot.num_classes,
        )
        evaluator._ground_truth = snapshot.ground_truth
        evaluator._detections = snapshot.detections
        evaluator._num_images = snapshot.num_images
        return evaluator

    def _converted(self) -> tuple[GroundTruth, Detections]:
        """All data so far with boxes in `xywh` pixels; pending batches are converted now."""
        fmt = self.bounding_box_format
        if self._pending_truth or self._pending_predictions:
            self._ground_truth = GroundTruth.concatenate(
                [self._ground_truth, ground_truth_from_rows(self._pending_truth, fmt)]
            )
            self._detections = Detections.concatenate(
                [self._detections, detections_from_rows(self._pending_predictions, fmt)]
            )
            self._pending_truth, self._pending_predictions = [], []
        return self._ground_truth, self._detections

    def _evaluated_class_ids(self, truth: GroundTruth, detections: Detections) -> np.ndarray:
        """The evaluator's `class_ids`, by default every class in the truth or detections."""
        if self.class_ids is None:
            return np.union1d(truth.classes, detections.classes)
        return self.class_ids

    def _snapshot(self) -> coco_state.Snapshot:
        truth, detections = self._converted()
        return coco_state.Snapshot(
            bounding_box_format=self.bounding_box_format,
            class_ids=self.class_ids,
            num_classes=self.num_classes,
            image_shape=coco_state.normalized_image_shape(self.image_shape),
            backend=self.backend,
            class_mapping=dict(self.class_mapping),
            ground_truth=truth,
            detections=detections,
            num_images=self._num_images,
        )

    def _absorb(self, sources: list[tuple[str, coco_state.Snapshot]], caller: str) -> None:
        # Everything is checked before anything changes: a failed merge leaves self intact.
        ours = self._snapshot()
        for where, snapshot in sources:
            coco_state.check_same_settings(ours, snapshot, caller, where)
        mapping = coco_state.merged_class_mapping(
            ours.class_mapping, [(where, s.class_mapping) for where, s in sources], caller
        )
        truth, detections, num_images = coco_state.join([ours] + [s for _, s in sources])
        self._ground_truth, self._detections, self._num_images = truth, detections, num_images
        self.class_mapping = mapping


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(
            f"Got backend={backend!r}; expected one of {BACKENDS}: 'numpy' (fast, same "
            "numbers) or 'pycocotools' (the reference implementation itself)."
        )
    return backend


def _sources(values: list, caller: str, names: list[str]) -> list[tuple[str, coco_state.Snapshot]]:
    """`(name, snapshot)` for each evaluator or state, or a clear error for anything else."""
    sources = []
    for where, value in zip(names, values):
        if isinstance(value, COCOEvaluator):
            sources.append((where, value._snapshot()))
        elif isinstance(value, Mapping):
            sources.append((where, coco_state.read_state(value, caller, where)))
        else:
            checks.fail(
                caller,
                where,
                value,
                "a COCOEvaluator or a dict from COCOEvaluator.state()",
                "pass the workers' evaluators, or the states they saved (np.load(path) "
                "of a file written with np.savez(path, **evaluator.state()))",
                error=TypeError,
            )
    return sources


def _refuse_repeats(values: list, names: list[str], caller: str) -> None:
    # The same object twice would count its images twice: never what a user means.
    first_seen: dict[int, str] = {}
    for where, value in zip(names, values):
        if id(value) in first_seen:
            raise ValueError(
                f"{caller}() got the same {type(value).__name__} as {first_seen[id(value)]} "
                f"and as {where}; expected each one once, as merging it twice would count "
                "its images twice. Fix: pass each worker's evaluator or state once."
            )
        first_seen[id(value)] = where
