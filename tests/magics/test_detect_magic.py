"""`%detect` in an IPython shell: every source kind, every command, every error as one line."""

import os

import keras
import numpy as np
import pytest
import retinanet_cases
import tensorflow as tf
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from nbdetect import layers, magics
from nbdetect.metrics import COCOResult
from nbdetect.models import as_detector
from nbdetect.widgets import AugmentationPreview, DetectionGallery, NMSExplorer


@pytest.fixture(scope="module")
def model():
    """A tiny untrained RetinaNet whose decoder keeps its best few boxes."""
    keras.utils.set_random_seed(3)
    model = retinanet_cases.tiny_retinanet(num_classes=3)
    model.prediction_decoder = layers.MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0, max_detections=5
    )
    return model


@pytest.fixture
def shell(model):
    """An IPython shell with nbdetect's extension and the model as `model`."""
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbdetect")
    ip.user_ns["model"] = model
    yield ip
    for name in list(ip.user_ns):
        if name in ("model", "images", "detections", "data", "aug", "result", "ds", "text"):
            ip.user_ns.pop(name, None)
    ip.magics_manager.registry["DetectMagics"].last_model = None


def detect(shell, line):
    return shell.run_line_magic("detect", line)


def image(height=96, width=128, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype("float32")


def write_png(path, array):
    Image.fromarray(array.astype("uint8")).save(path)
    return np.asarray(Image.open(path).convert("RGB"), "float32")


def expected(model, images):
    return as_detector(model, "xywh").predict(images)


def test_an_image_file_gives_a_gallery_and_the_detections(shell, model, tmp_path):
    path = str(tmp_path / "photo.png")
    pixels = write_png(path, image())
    widget = detect(shell, f"{path} --model model --out detections")
    assert isinstance(widget, DetectionGallery)
    np.testing.assert_allclose(
        shell.user_ns["detections"]["boxes"], expected(model, pixels[None])["boxes"], atol=1e-4
    )


def test_a_folder_and_a_glob_of_images_of_different_sizes(shell, model, tmp_path):
    big = write_png(str(tmp_path / "a.png"), image(96, 128))
    small = write_png(str(tmp_path / "b.png"), image(64, 64, seed=1))
    (tmp_path / "notes.txt").write_text("not an image")
    for source in (str(tmp_path), str(tmp_path / "*.png")):
        widget = detect(shell, f"{source} -m model --out detections")
        assert len(widget.examples) == 2
        boxes = shell.user_ns["detections"]["boxes"]
        assert isinstance(boxes, list) and len(boxes) == 2
        np.testing.assert_allclose(boxes[1], expected(model, small[None])["boxes"][0], atol=1e-4)
        np.testing.assert_allclose(boxes[0], expected(model, big[None])["boxes"][0], atol=1e-4)


def test_quoted_sources_and_flags_are_read_as_a_shell_reads_them(shell, model, tmp_path):
    folder = tmp_path / "my photos"
    folder.mkdir()
    write_png(str(folder / "a 1.png"), image(64, 64, seed=2))
    write_png(str(folder / "b.png"), image(64, 64, seed=3))
    for source, count in (
        (f'"{folder}/a 1.png"', 1),
        (f"'{folder}/*.png'", 2),
        (f'"{folder}"', 2),
    ):
        widget = detect(shell, f"{source} --model 'model' --out \"found\"")
        assert len(widget.examples) == count
        assert shell.user_ns["found"]["boxes"].shape[0] == count


@pytest.mark.parametrize(
    "kind", ["array", "batch", "tensor", "list", "paths", "dict", "dataset", "ragged"]
)
def test_variables_of_every_kind(shell, model, tmp_path, kind):
    one, two = image(seed=4), image(seed=5)
    batch = np.stack([one, two])
    paths = [str(tmp_path / "x.png"), str(tmp_path / "y.png")]
    saved = [write_png(p, a) for p, a in zip(paths, (one, two))]
    values = {
        "array": (one, [one]),
        "batch": (batch, [one, two]),
        "tensor": (tf.constant(batch), [one, two]),
        "list": ([one, two], [one, two]),
        "paths": (paths, saved),
        "dict": ({"images": batch, "bounding_boxes": {}}, [one, two]),
        "dataset": (tf.data.Dataset.from_tensor_slices(batch).batch(2), [one, two]),
        "ragged": (tf.ragged.stack([tf.constant(one), tf.constant(two)]), [one, two]),
    }
    value, images = values[kind]
    shell.user_ns["images"] = value
    widget = detect(shell, "images --model model --out detections")
    assert len(widget.examples) == len(images)
    # Images of one size give batched arrays, as model.predict does.
    assert shell.user_ns["detections"]["boxes"].shape == (len(images), 5, 4)
    np.testing.assert_allclose(
        np.asarray(shell.user_ns["detections"]["boxes"]),
        expected(model, np.stack(images))["boxes"],
        atol=1e-3,
    )


def test_flags_change_the_decoding_not_the_model(shell, model):
    shell.user_ns["images"] = np.stack([image(seed=6), image(seed=7)])
    detect(shell, "images --model model --max-detections 2 --confidence 0.0 --out detections")
    assert (shell.user_ns["detections"]["num_detections"] <= 2).all()
    assert model.prediction_decoder.max_detections == 5  # the model's own decoder is kept
    widget = detect(shell, "images --classes a,b,c")  # the last model, without --model
    assert widget.class_mapping == {0: "a", 1: "b", 2: "c"}


def test_models_from_files_folders_and_kerashub(shell, model, tmp_path):
    import detector_sources

    photo = image(seed=8)
    shell.user_ns["images"] = photo[None]
    reference = expected(model, photo[None])
    model.save(str(tmp_path / "m.keras"))
    model.save_to_preset(str(tmp_path / "preset"))
    for source in (str(tmp_path / "m.keras"), str(tmp_path / "preset")):
        detect(shell, f"images --model {source} --out detections")
        np.testing.assert_allclose(
            shell.user_ns["detections"]["boxes"], reference["boxes"], atol=1e-4
        )
    hub = detector_sources.keras_hub_dfine()
    hub.save_to_preset(str(tmp_path / "dfine"))
    detect(shell, f"images --model {tmp_path / 'dfine'} --out detections")
    hub_reference = as_detector(hub, "xywh").predict(photo[None])
    np.testing.assert_allclose(
        shell.user_ns["detections"]["boxes"], hub_reference["boxes"], atol=1e-3
    )


def test_no_model_and_no_internet_is_one_line_naming_model(shell, monkeypatch):
    def offline(name):
        raise RuntimeError(f"load_detector({name!r}) could not download the preset")

    monkeypatch.setattr("nbdetect.models.load_detector", offline)
    shell.user_ns["images"] = image()[None]
    with pytest.raises(UsageError, match="no model.*dfine_nano_coco.*--model"):
        detect(shell, "images")


def test_explore(shell, model):
    shell.user_ns["images"] = np.stack([image(seed=1), image(seed=2)])
    explorer = detect(shell, "explore images --model model --max-detections 3 --out detections")
    assert isinstance(explorer, NMSExplorer)
    assert explorer.settings["max_detections"] == 3
    assert max(explorer.boxes_per_image()) <= 3
    assert shell.user_ns["detections"] is explorer.detections
    shell.user_ns["images"] = [image(64, 64), image(96, 128)]
    with pytest.raises(UsageError, match="one size"):
        detect(shell, "explore images --model model")


def truth_dataset(count=4):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (count, 64, 64, 3)).astype("float32")
    boxes = np.tile(np.array([[[8, 8, 20, 20]]], "float32"), (count, 1, 1))
    classes = np.zeros((count, 1), "float32")
    return tf.data.Dataset.from_tensor_slices(
        {"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}}
    ).batch(2)


def test_show_augment_and_eval(shell, model, capsys):
    shell.user_ns["ds"] = truth_dataset()
    gallery = detect(shell, "show ds --format xywh")
    assert isinstance(gallery, DetectionGallery) and len(gallery.examples) == 4
    shell.user_ns["aug"] = layers.RandomFlip(mode="horizontal", bounding_box_format="xywh")
    preview = detect(shell, "augment ds --augmenter aug --format xywh")
    assert isinstance(preview, AugmentationPreview)
    with pytest.raises(UsageError, match="--augmenter"):
        detect(shell, "augment ds")
    gallery = detect(shell, "eval ds --model model --format xywh --out result")
    assert isinstance(gallery, DetectionGallery)
    assert isinstance(shell.user_ns["result"], COCOResult)
    assert "MaP" in capsys.readouterr().out
    # Class names from --classes, or from the model, name the per-class rows.
    detect(shell, "eval ds --model model --format xywh --classes cat,dog,owl --out result")
    assert shell.user_ns["result"].class_names == {0: "cat", 1: "dog", 2: "owl"}
    assert "owl" in capsys.readouterr().out
    model.class_mapping = {0: "ant", 1: "bee", 2: "fly"}
    detect(shell, "eval ds --model model --format xywh --out result")
    assert shell.user_ns["result"].class_names == model.class_mapping


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("missing.jpg --model model", "there is no file or folder 'missing.jpg'"),
        ("./nowhere/x.png --model model", "there is no file or folder './nowhere/x.png'"),
        ("nothing_*.png --model model", "matches no files"),
        ("unknown_variable --model model", "not a variable, file or folder"),
        ("text --model model", "not images"),
        ("images --model nosuchmodel", "not a variable, .keras file"),
        ("images --model ./no/such.keras", "no such file or folder"),
        ("images --model model --confidence 2", "--confidence 2 is not between 0 and 1"),
        ("images --model model --max-detections 0", "must be 1 or more"),
        ("images --model model --iou abc", "invalid float value"),
        ("images extra --model model", "takes one SOURCE"),
        ("images --model model --out 1bad", "not a valid variable name"),
        ("augment images --augmenter missing", "not a variable of this notebook"),
    ],
)
def test_errors_are_one_line(shell, line, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shell.user_ns["images"] = image()[None]
    shell.user_ns["text"] = "hello"
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")) as error:
        detect(shell, line)
    assert "\n" not in str(error.value)


def test_a_corrupt_image_file(shell, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(UsageError, match="not an image Pillow can read"):
        detect(shell, f"{path} --model model")


def test_help_lists_every_option():
    doc = magics.DetectMagics.detect.__doc__
    for option in (
        "--model",
        "--confidence",
        "--iou",
        "--max-detections",
        "--format",
        "--classes",
        "--augmenter",
        "--out",
        "explore|show|augment|eval",
    ):
        assert option in doc
    assert os.path.basename(magics.__file__) == "magics.py"


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over `tmp_path` (127.0.0.1 only)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url(shell, model, server, tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    pixels = write_png(str(tmp_path / "photo.png"), image(seed=9))
    (tmp_path / "page.jpg").write_text("<!DOCTYPE html><html><body>hi</body></html>")
    widget = detect(shell, f"{server}/photo.png --model model --out detections")
    assert len(widget.examples) == 1
    np.testing.assert_allclose(
        shell.user_ns["detections"]["boxes"], expected(model, pixels[None])["boxes"], atol=1e-4
    )
    for path, message in (("missing.jpg", "HTTP 404"), ("page.jpg", "is not an image")):
        with pytest.raises(UsageError, match=message) as error:
            detect(shell, f"{server}/{path} --model model")
        assert "\n" not in str(error.value)
