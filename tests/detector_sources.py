"""Small detectors of other libraries, with random weights, for the adapter tests.

Each builder returns a new, seeded model (offline: no presets are downloaded). The models
are small so that the widget and callback tests stay fast; `tests/source_models.py` builds
the full-size ResNet50 RetinaNets the weight conversion is tested on.
"""

import keras
import numpy as np

NUM_CLASSES = 5


def perturb(model, seed=0, scale=0.05):
    """Add noise to every weight so that no output is trivially constant."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = np.asarray(variable.numpy())
        if "moving_variance" in variable.path:
            value = value + rng.uniform(0.5, 1.5, value.shape)
        elif "moving_mean" in variable.path:
            value = value + rng.normal(0.0, 0.1, value.shape)
        elif value.dtype.kind == "f":
            value = value + rng.normal(0.0, scale, value.shape) * (np.abs(value).mean() + 0.01)
        else:
            continue
        variable.assign(value.astype(variable.dtype))
    return model


def tame(kernel, bias, kernel_scale, bias_value, seed=0):
    """Scale an output layer so a random detector gives plausible boxes and few detections.

    Box offsets near zero keep boxes near their anchors; a low class bias leaves a few
    hundred (box, class) pairs above a 0.5 confidence, as in a trained model, rather than
    thousands of near-ties.
    """
    rng = np.random.default_rng(seed)
    kernel.assign(kernel.numpy() * kernel_scale)
    bias.assign(bias_value + rng.normal(0.0, 0.3, bias.shape).astype("float32"))


def keras_hub_retinanet(image_size=(256, 256), num_classes=NUM_CLASSES, seed=1):
    """A KerasHub `RetinaNetObjectDetector` (ResNet18-like encoder) with a resizing preprocessor.

    Its image converter resizes to `image_size` (stretching: `crop_to_aspect_ratio=False`)
    and scales pixels by 1/255.
    """
    import keras_hub

    keras.utils.set_random_seed(seed)
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 32, 32, 32],
        stackwise_num_blocks=[1, 1, 1, 1],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="basic_block",
        use_pre_activation=False,
    )
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=7, use_p5=False
    )
    converter = keras_hub.layers.RetinaNetImageConverter(
        image_size=image_size, scale=1 / 255.0, crop_to_aspect_ratio=False
    )
    preprocessor = keras_hub.models.RetinaNetObjectDetectorPreprocessor(image_converter=converter)
    model = keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone,
        num_classes=num_classes,
        bounding_box_format="yxyx",
        preprocessor=preprocessor,
        pre_logits_num_conv_layers=1,
    )
    perturb(model, seed)
    box, cls = model.box_head.prediction_layer, model.classification_head.prediction_layer
    tame(box.kernel, box.bias, 0.1, 0.0, seed)
    tame(cls.kernel, cls.bias, 1.0, -2.5, seed)
    return model


def keras_hub_dfine(image_size=(256, 256), num_classes=NUM_CLASSES, seed=2):
    """KerasHub's `DFineObjectDetector` in a small configuration (HGNetV2 stem of 16)."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    hgnetv2 = keras_hub.models.HGNetV2Backbone(
        stem_channels=[3, 16, 16],
        stackwise_stage_filters=[
            [16, 16, 64, 1, 3, 3],
            [64, 32, 256, 1, 3, 3],
            [256, 64, 512, 2, 3, 5],
            [512, 128, 1024, 1, 3, 5],
        ],
        apply_downsample=[False, True, True, True],
        use_lightweight_conv_block=[False, False, True, True],
        depths=[1, 1, 2, 1],
        hidden_sizes=[64, 256, 512, 1024],
        embedding_size=16,
        use_learnable_affine_block=True,
        hidden_act="relu",
        image_shape=(*image_size, 3),
        out_features=["stage3", "stage4"],
    )
    backbone = keras_hub.models.DFineBackbone(
        backbone=hgnetv2,
        decoder_in_channels=[64, 64],
        encoder_hidden_dim=64,
        num_denoising=0,
        num_labels=num_classes,
        hidden_dim=64,
        learn_initial_query=False,
        num_queries=50,
        anchor_image_size=image_size,
        feat_strides=[16, 32],
        num_feature_levels=2,
        encoder_in_channels=[512, 1024],
        encode_proj_layers=[1],
        num_attention_heads=4,
        encoder_ffn_dim=128,
        num_encoder_layers=1,
        hidden_expansion=0.34,
        depth_multiplier=0.5,
        eval_idx=-1,
        num_decoder_layers=2,
        decoder_attention_heads=4,
        decoder_ffn_dim=128,
        decoder_n_points=[4, 4],
        lqe_hidden_dim=32,
        num_lqe_layers=2,
        out_features=["stage3", "stage4"],
        image_shape=(*image_size, 3),
        seed=seed,
    )
    converter = keras_hub.layers.DFineImageConverter(
        image_size=image_size, scale=1 / 255.0, crop_to_aspect_ratio=False
    )
    preprocessor = keras_hub.models.DFineObjectDetectorPreprocessor(image_converter=converter)
    model = keras_hub.models.DFineObjectDetector(
        backbone=backbone,
        num_classes=num_classes,
        bounding_box_format="yxyx",
        preprocessor=preprocessor,
    )
    return perturb(model, seed, scale=0.02)


def keras_cv_retinanet(num_classes=NUM_CLASSES, seed=3):
    """A KerasCV 0.9 `RetinaNet` on a small ResNet (include_rescaling), format xywh."""
    import keras_cv

    keras.utils.set_random_seed(seed)
    backbone = keras_cv.models.ResNetBackbone(
        stackwise_filters=[16, 32, 64, 64],
        stackwise_blocks=[1, 1, 1, 1],
        stackwise_strides=[1, 2, 2, 2],
        include_rescaling=True,
    )
    model = keras_cv.models.RetinaNet(
        backbone=backbone, num_classes=num_classes, bounding_box_format="xywh"
    )
    return perturb(model, seed)


def keras_cv_yolov8(num_classes=NUM_CLASSES, seed=4):
    """A small KerasCV 0.9 `YOLOV8Detector`, format xyxy."""
    import keras_cv

    keras.utils.set_random_seed(seed)
    backbone = keras_cv.models.YOLOV8Backbone(
        stackwise_channels=[16, 32, 64, 64],
        stackwise_depth=[1, 1, 1, 1],
        include_rescaling=True,
        activation="swish",
    )
    model = keras_cv.models.YOLOV8Detector(
        num_classes=num_classes,
        bounding_box_format="xyxy",
        backbone=backbone,
        fpn_depth=1,
    )
    return perturb(model, seed)
