"""Downloading KerasHub's and KerasCV's RetinaNet presets from Kaggle, with `kagglehub`."""

from __future__ import annotations

# Preset names and their Kaggle handles (keras_hub's `retinanet_presets.py`, keras_cv's
# `retinanet_presets.py`).
KERAS_HUB_PRESETS = {
    "retinanet_resnet50_fpn_coco": "keras/retinanet/keras/retinanet_resnet50_fpn_coco/4",
    "retinanet_resnet50_fpn_v2_coco": "keras/retinanet/keras/retinanet_resnet50_fpn_v2_coco/3",
}
KERAS_CV_PRESETS = {
    "retinanet_resnet50_pascalvoc": "keras/retinanet/keras/retinanet_resnet50_pascalvoc/2",
}


def download_preset(name: str) -> str:
    """Download a KerasHub or KerasCV preset (cached by `kagglehub`); return its folder.

    One attempt: offline, `kagglehub` fails at once (it does not retry), and so does this.

    Args:
        name: a key of `KERAS_HUB_PRESETS` or `KERAS_CV_PRESETS`.

    Returns:
        The local folder of the preset.

    Raises:
        ImportError: `kagglehub` is not installed (the message has the `pip` line).
        RuntimeError: the download failed (e.g. no internet); the message says how to
            download elsewhere and load the folder.

    Example:
        Downloads from Kaggle, so this needs internet:

        >>> from nbdetect.models import RetinaNet
        >>> from nbdetect.models.retinanet.convert.download import download_preset
        >>> folder = download_preset("retinanet_resnet50_fpn_coco")  # doctest: +SKIP
        >>> model = RetinaNet.from_preset(folder)  # doctest: +SKIP
    """
    handle = {**KERAS_HUB_PRESETS, **KERAS_CV_PRESETS}[name]
    try:
        import kagglehub
    except ImportError as error:
        raise ImportError(
            f"RetinaNet.from_preset({name!r}) downloads the preset from Kaggle with the "
            "kagglehub package, which is not installed: pip install kagglehub. Or "
            "download the preset elsewhere and pass its folder: " + _offline_hint(name, handle)
        ) from error
    try:
        return kagglehub.model_download(handle)
    except Exception as error:  # kagglehub raises requests', its own and OS errors
        raise RuntimeError(
            f"RetinaNet.from_preset({name!r}) could not download the preset from Kaggle "
            f"({type(error).__name__}: {error}). The pretrained weights must be "
            "downloaded once, on a machine with internet: " + _offline_hint(name, handle)
        ) from error


def _offline_hint(name: str, handle: str) -> str:
    return (
        f'run `import kagglehub; print(kagglehub.model_download("{handle}"))`, copy the '
        "folder it prints here, and load it with "
        f"RetinaNet.from_preset('/path/to/{name}')."
    )
